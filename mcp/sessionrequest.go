package mcp

import "net/http"

// SessionRequest reports whether a POST of body, with r's headers, is
// served in the session its Mcp-Session-Id names: a JSON-RPC message that
// is neither a 2026-07-28 request nor initialize (a plain POST has no
// session id). A body that does not decode is not: its error is the
// Server's to answer. A layer in front of the Server (the gateway's
// session proxy) uses it to tell which requests belong to a session.
func SessionRequest(r *http.Request, body []byte) bool {
	m, err := DecodeMessage(body)
	if err != nil {
		return false
	}
	return !isStateless(r, m) && !(m.Method == "initialize" && m.IsRequest())
}
