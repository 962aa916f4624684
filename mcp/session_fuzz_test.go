package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// sessionFuzz is one server with one session, owned by "owner", that the
// fuzzed requests aim at.
type sessionFuzz struct {
	srv     *mcp.Server
	sid     string
	foreign string // a session of another node of the same ring
}

var owner = mcp.Principal{Subject: "owner"}

func newSessionFuzz(f *testing.F) *sessionFuzz {
	cat := mcp.NewCatalog("n1", nil)
	if err := cat.Add("demo", "", mcp.NewDemo("n1")); err != nil {
		f.Fatal(err)
	}
	sf := &sessionFuzz{srv: mcp.NewServer(cat, mcp.ServerOptions{NodeName: "n1", SessionKey: ringKey})}
	f.Cleanup(sf.srv.Close)
	sf.foreign = openSession(f, nodeServer(f, "n2", ringKey), owner)
	rec := sf.serve(owner, http.MethodPost, initBody, map[string]string{"Accept": "application/json"}, false)
	if sf.sid = rec.Header().Get("Mcp-Session-Id"); rec.Code != http.StatusOK || sf.sid == "" {
		f.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	return sf
}

// serve sends one request as p; a GET's context is already over, so an
// event stream that opens ends at once.
func (sf *sessionFuzz) serve(p mcp.Principal, method, body string, hdr map[string]string, ended bool) *httptest.ResponseRecorder {
	ctx, cancel := context.WithCancel(mcp.WithPrincipal(context.Background(), p))
	defer cancel()
	if ended {
		cancel()
	}
	req := httptest.NewRequestWithContext(ctx, method, "http://127.0.0.1/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v} // as sent, unchecked
	}
	rec := httptest.NewRecorder()
	sf.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// FuzzSessionHeaders: no Mcp-Session-Id, Last-Event-ID or
// MCP-Protocol-Version value, from the owner or anyone else, crashes the
// server or gets a 5xx; every refusal is a 4xx with a JSON error; a session
// that is not the caller's (or another node's) is a 4xx whatever the other headers say; and the
// owner's session survives everything. (An empty Mcp-Session-Id on a POST
// is a plain, sessionless request.)
func FuzzSessionHeaders(f *testing.F) {
	sf := newSessionFuzz(f)
	for _, s := range []struct {
		sid                    string
		real                   bool
		subject, last, version string
	}{
		{"", true, "owner", "", "2025-11-25"}, {"", true, "owner", "0_0", ""}, {"", true, "owner", "1_1", "2025-06-18"},
		{"", true, "mallory", "0_0", "2025-11-25"}, {"", true, "", "", ""}, {"", true, "owner", "_", "x"},
		{"", true, "owner", "-1_0", ""}, {"", true, "owner", "0_-1", ""}, {"", true, "owner", "99999999999999999999_1", ""},
		{"", true, "owner", "0_1_2", ""}, {"", true, "owner", "\x00", "\r\n"}, {"", true, "owner", "0_0", "2099-01-01"},
		{"no-such-session", false, "owner", "", ""}, {"", false, "owner", "0_0", ""}, {"../../etc", false, "mallory", "1_1", "2025-11-25"},
		{strings.Repeat("a", 4096), false, "owner", strings.Repeat("9", 4096), strings.Repeat("v", 4096)},
		{"\xff\xfe", false, "\xff", "\xff_\xff", "\xff"}, {"%00", false, "owner", "0x1_0", "2025-11-25 "},
	} {
		f.Add(s.sid, s.real, s.subject, s.last, s.version)
	}
	f.Add(sf.foreign, false, "owner", "0_0", "2025-11-25") // another node's session, well formed
	f.Add(sf.foreign[:len(sf.foreign)-1], false, "owner", "", "")
	f.Fuzz(func(t *testing.T, sid string, real bool, subject, last, version string) {
		if real {
			sid = sf.sid
		}
		p := mcp.Principal{Subject: subject}
		foreign := !real || p != owner
		hdr := map[string]string{"Mcp-Session-Id": sid, "Last-Event-ID": last, "MCP-Protocol-Version": version}
		uses := []struct {
			method, body, accept string
		}{
			{http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, "application/json"},
			{http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, "application/json"},
			{http.MethodGet, "", "text/event-stream"},
		}
		if foreign {
			uses = append(uses, struct{ method, body, accept string }{http.MethodDelete, "", ""})
		}
		for _, u := range uses {
			hdr["Accept"] = u.accept
			rec := sf.serve(p, u.method, u.body, hdr, u.method == http.MethodGet)
			sessionless := sid == "" && u.method == http.MethodPost // a plain POST, served without a session
			checkFuzzAnswer(t, u.method, rec, foreign && !sessionless)
		}
		ping := sf.serve(owner, http.MethodPost, `{"jsonrpc":"2.0","id":2,"method":"ping"}`,
			map[string]string{"Mcp-Session-Id": sf.sid, "Accept": "application/json"}, false)
		if ping.Code != http.StatusOK {
			t.Fatalf("the owner's session after sid %q subject %q: ping %d %s", sid, subject, ping.Code, ping.Body)
		}
	})
}

// checkFuzzAnswer: never 5xx; a session not the caller's is 4xx; a 4xx
// carries {"error": "..."} or a JSON-RPC error with a message.
func checkFuzzAnswer(t *testing.T, method string, rec *httptest.ResponseRecorder, refuse bool) {
	t.Helper()
	if rec.Code >= 500 || (refuse && rec.Code < 400) {
		t.Fatalf("%s: status %d (must refuse: %v), body %s", method, rec.Code, refuse, rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !validFuzzError(e.Error) {
		t.Fatalf("%s: status %d with body %s, want a JSON error naming what was wrong", method, rec.Code, rec.Body)
	}
}

func validFuzzError(raw json.RawMessage) bool {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text != ""
	}
	var rpc mcp.Error
	return json.Unmarshal(raw, &rpc) == nil && rpc.Code != 0 && rpc.Message != ""
}
