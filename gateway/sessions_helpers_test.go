package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Helpers of the session tests: tokens of several principals, raw
// Streamable HTTP requests in a session, open GET streams.

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"session-test","version":"0"}}}`

const acceptBoth = "application/json, text/event-stream"

// tokenFor mints a token for subject with scope, and issuer when not "".
func tokenFor(t testing.TB, subject, scope, issuer string) string {
	t.Helper()
	now := time.Now()
	claims := Claims{Scope: scope, RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: subject,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// nodeTokenFor is the token node from sends to node to (a link's token).
func nodeTokenFor(t testing.TB, from, to string) string {
	t.Helper()
	return nodeToken(t, from, to, ScopeMCP)
}

// audInfo is the audience of a node token good for GET
// /api/federation/info only (federation's, as it goes on the wire).
const audInfo = "mcpmesh:info"

// nodeToken is a node token of from for the node aud, as the federation
// engine mints it: subject "node:<from>", that audience and scope.
func nodeToken(t testing.TB, from, aud, scope string) string {
	t.Helper()
	now := time.Now()
	claims := Claims{Scope: scope, RegisteredClaims: jwt.RegisteredClaims{
		Subject: federation.NodeSubjectPrefix + from, Audience: jwt.ClaimStrings{aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mcpRequest is one request to /mcp: the method, body and headers.
type mcpRequest struct {
	method, body string
	header       map[string]string
}

// mcpDo sends req with token; an event stream that opens (200) is closed
// at once and its body left unread, so a test never hangs on one.
func mcpDo(t testing.TB, base, token string, req mcpRequest) response {
	t.Helper()
	resp := mcpOpen(t, base, token, req)
	defer resp.Body.Close()
	if isStream(resp) {
		return response{code: resp.StatusCode, header: resp.Header}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s /mcp: read body: %v", req.method, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// mcpOpen sends req and returns the response, its body unread; it is
// closed when the test ends.
func mcpOpen(t testing.TB, base, token string, req mcpRequest) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := http.NewRequestWithContext(ctx, req.method, base+"/mcp", strings.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s /mcp: %v", req.method, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func isStream(resp *http.Response) bool {
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
}

// initSession initializes a session as token's principal; it fails the
// test unless the node answers 200 with a session id.
func initSession(t testing.TB, base, token string) string {
	t.Helper()
	r := mcpDo(t, base, token, mcpRequest{http.MethodPost, initializeBody, map[string]string{"Accept": "application/json"}})
	sid := r.header.Get("Mcp-Session-Id")
	if r.code != http.StatusOK || sid == "" {
		t.Fatalf("initialize: status %d, session %q, body %s", r.code, sid, r.body)
	}
	return sid
}

// inSession is a request in session sid (JSON answers unless accept says).
func inSession(method, sid, body, accept string) mcpRequest {
	if accept == "" {
		accept = "application/json"
	}
	return mcpRequest{method, body, map[string]string{"Mcp-Session-Id": sid, "Accept": accept,
		"MCP-Protocol-Version": "2025-11-25"}}
}

// pingIn answers whether sid still serves token's principal: 200 or 404.
func pingIn(t testing.TB, base, token, sid string) int {
	t.Helper()
	return mcpDo(t, base, token, inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":9,"method":"ping"}`, "")).code
}

// openGET opens sid's GET stream and keeps it open until the test ends.
func openGET(t testing.TB, base, token, sid string) {
	t.Helper()
	resp := mcpOpen(t, base, token, inSession(http.MethodGet, sid, "", "text/event-stream"))
	if !isStream(resp) {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET stream of %s: status %d, body %s", sid, resp.StatusCode, b)
	}
}

// sseMessages reads an event stream to its end: each event's id and the
// JSON-RPC message it carries.
func sseMessages(t testing.TB, body io.Reader) (ids []string, msgs []mcp.Message) {
	t.Helper()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read event stream: %v", err)
	}
	for _, block := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		var id, data string
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "id:"); ok {
				id = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "data:"); ok {
				data += strings.TrimSpace(v)
			}
		}
		var m mcp.Message
		if data != "" && json.Unmarshal([]byte(data), &m) == nil {
			ids, msgs = append(ids, id), append(msgs, m)
		}
	}
	return ids, msgs
}
