package mcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// meta2026 is the _meta of a well-formed 2026-07-28 request.
func meta2026() map[string]any {
	return map[string]any{
		mcp.MetaProtocolVersion:    mcp.StatelessVersion,
		mcp.MetaClientInfo:         map[string]any{"name": "t", "version": "1"},
		mcp.MetaClientCapabilities: map[string]any{},
	}
}

// req2026 is one 2026-07-28 request: its params (with meta2026 unless they
// carry their own _meta) and its headers, standard unless overridden ("" removes).
type req2026 struct {
	method string
	params map[string]any
	hdr    map[string]string
}

func (q req2026) body() string {
	p := map[string]any{"_meta": meta2026()}
	for k, v := range q.params {
		p[k] = v
	}
	if p["_meta"] == nil {
		delete(p, "_meta")
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 9, "method": q.method, "params": p})
	return string(b)
}

func (q req2026) headers() map[string]string {
	h := map[string]string{"Mcp-Protocol-Version": mcp.StatelessVersion, "Mcp-Method": q.method,
		"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
	for _, k := range []string{"name", "uri"} {
		if v, ok := q.params[k].(string); ok {
			h["Mcp-Name"] = v
		}
	}
	for k, v := range q.hdr {
		h[k] = v
	}
	return h
}

// send posts q; headers set to "" are left out.
func (q req2026) send(t *testing.T, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(q.body()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range q.headers() {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// answer decodes a JSON answer.
func answer(t *testing.T, resp *http.Response) mcp.Message {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content-type %q, want application/json", ct)
	}
	var m mcp.Message
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return m
}

func TestStatelessRequestsChecked(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	noVersion := meta2026()
	delete(noVersion, mcp.MetaProtocolVersion)
	noCaps := meta2026()
	delete(noCaps, mcp.MetaClientCapabilities)
	badLevel := meta2026()
	badLevel[mcp.MetaLogLevel] = "loud"
	v999 := meta2026()
	v999[mcp.MetaProtocolVersion] = "v999"
	call := map[string]any{"name": "whoami", "arguments": map[string]any{}}
	tests := []struct {
		name   string
		q      req2026
		status int
		code   int
	}{
		{"no _meta", req2026{method: "server/discover", params: map[string]any{"_meta": nil}}, 400, -32602},
		{"no protocol version", req2026{method: "server/discover", params: map[string]any{"_meta": noVersion}}, 400, -32602},
		{"no client capabilities", req2026{method: "server/discover", params: map[string]any{"_meta": noCaps}}, 400, -32602},
		{"unknown log level", req2026{method: "server/discover", params: map[string]any{"_meta": badLevel}}, 400, -32602},
		{"unsupported version", req2026{method: "server/discover", params: map[string]any{"_meta": v999},
			hdr: map[string]string{"Mcp-Protocol-Version": "v999"}}, 400, -32022},
		{"version header differs from _meta", req2026{method: "server/discover", params: map[string]any{"_meta": v999}}, 400, -32020},
		{"version header missing", req2026{method: "server/discover", hdr: map[string]string{"Mcp-Protocol-Version": ""}}, 400, -32020},
		{"Mcp-Method missing", req2026{method: "tools/list", hdr: map[string]string{"Mcp-Method": ""}}, 400, -32020},
		{"Mcp-Method differs", req2026{method: "tools/list", hdr: map[string]string{"Mcp-Method": "prompts/list"}}, 400, -32020},
		{"Mcp-Name missing", req2026{method: "tools/call", params: call, hdr: map[string]string{"Mcp-Name": ""}}, 400, -32020},
		{"Mcp-Name differs", req2026{method: "tools/call", params: call, hdr: map[string]string{"Mcp-Name": "echo"}}, 400, -32020},
		{"Mcp-Name not base64", req2026{method: "tools/call", params: call, hdr: map[string]string{"Mcp-Name": "=?base64?***?="}}, 400, -32020},
		{"Mcp-Name base64", req2026{method: "tools/call", params: call, hdr: map[string]string{"Mcp-Name": "=?base64?d2hvYW1p?="}}, 200, 0},
		{"initialize removed", req2026{method: "initialize"}, 404, -32601},
		{"ping removed", req2026{method: "ping"}, 404, -32601},
		{"logging/setLevel removed", req2026{method: "logging/setLevel", params: map[string]any{"level": "info"}}, 404, -32601},
		{"resources/subscribe removed", req2026{method: "resources/subscribe", params: map[string]any{"uri": "x:y"}}, 404, -32601},
		{"unknown method", req2026{method: "no/such"}, 404, -32601},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.q.send(t, hs.URL)
			m := answer(t, resp)
			code := 0
			if m.Error != nil {
				code = m.Error.Code
			}
			if resp.StatusCode != tt.status || code != tt.code || string(m.ID) != "9" {
				t.Fatalf("status %d, code %d, id %s (%+v); want %d, %d, id 9", resp.StatusCode, code, m.ID, m.Error, tt.status, tt.code)
			}
		})
	}
}

func TestStatelessUnsupportedVersionNamesSupported(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	v999 := meta2026()
	v999[mcp.MetaProtocolVersion] = "v999"
	q := req2026{method: "tools/list", params: map[string]any{"_meta": v999}, hdr: map[string]string{"Mcp-Protocol-Version": "v999"}}
	m := answer(t, q.send(t, hs.URL))
	if m.Error == nil {
		t.Fatalf("answer %s, want error -32022", m.Result)
	}
	data, _ := json.Marshal(m.Error.Data)
	var d struct {
		Supported []string `json:"supported"`
		Requested string   `json:"requested"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Requested != "v999" || !slices.Equal(d.Supported, mcp.AllVersions) {
		t.Fatalf("error data %s, want supported %v and requested v999", data, mcp.AllVersions)
	}
}

// result2026 is the fields every 2026-07-28 result shares.
type result2026 struct {
	ResultType string `json:"resultType"`
	TTL        *int   `json:"ttlMs"`
	Scope      string `json:"cacheScope"`
	Meta       struct {
		ServerInfo struct{ Name, Version string } `json:"io.modelcontextprotocol/serverInfo"`
	} `json:"_meta"`
	SupportedVersions []string         `json:"supportedVersions"`
	Capabilities      map[string]any   `json:"capabilities"`
	Tools             []map[string]any `json:"tools"`
	Content           []map[string]any `json:"content"`
}

func call2026(t *testing.T, url string, q req2026) (result2026, *http.Response) {
	t.Helper()
	resp := q.send(t, url)
	m := answer(t, resp)
	if m.Error != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: status %d, error %+v", q.method, resp.StatusCode, m.Error)
	}
	var r result2026
	if err := json.Unmarshal(m.Result, &r); err != nil {
		t.Fatalf("%s: result %s: %v", q.method, m.Result, err)
	}
	return r, resp
}

func TestStatelessResults(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{NodeName: "node-a", Version: "v9"})
	ttl := func(n int) *int { return &n }
	tests := []struct {
		name  string
		q     req2026
		ttl   *int
		scope string
	}{
		{"server/discover", req2026{method: "server/discover"}, ttl(mcp.DiscoverTTL), "public"},
		{"tools/list", req2026{method: "tools/list"}, ttl(mcp.ListTTL), "private"},
		{"prompts/list", req2026{method: "prompts/list"}, ttl(mcp.ListTTL), "private"},
		{"resources/list", req2026{method: "resources/list"}, ttl(mcp.ListTTL), "private"},
		{"resources/templates/list", req2026{method: "resources/templates/list"}, ttl(mcp.ListTTL), "private"},
		{"tools/call", req2026{method: "tools/call", params: map[string]any{"name": "whoami"}}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, resp := call2026(t, hs.URL, tt.q)
			if r.ResultType != "complete" || r.Meta.ServerInfo.Name != "node-a" || r.Meta.ServerInfo.Version != "v9" {
				t.Errorf("resultType %q, serverInfo %+v; want complete, node-a v9", r.ResultType, r.Meta.ServerInfo)
			}
			if (r.TTL == nil) != (tt.ttl == nil) || (r.TTL != nil && *r.TTL != *tt.ttl) || r.Scope != tt.scope {
				t.Errorf("ttlMs %v, cacheScope %q; want %v, %q", r.TTL, r.Scope, tt.ttl, tt.scope)
			}
			if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
				t.Errorf("a stateless request got session %q", sid)
			}
		})
	}
}

func TestStatelessDiscover(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	r, _ := call2026(t, hs.URL, req2026{method: "server/discover"})
	if !slices.Equal(r.SupportedVersions, mcp.AllVersions) || r.SupportedVersions[0] != "2026-07-28" {
		t.Errorf("supportedVersions %v, want %v", r.SupportedVersions, mcp.AllVersions)
	}
	for _, c := range []string{"tools", "prompts", "resources"} {
		if r.Capabilities[c] == nil {
			t.Errorf("capabilities %v lack %s", r.Capabilities, c)
		}
	}
}

func TestStatelessListOrderIsStable(t *testing.T) {
	hs, cat, _ := newTestServer(t, mcp.ServerOptions{})
	for _, name := range []string{"zz", "aa", "mm"} {
		if err := cat.Add(name, name, mcp.NewDemo("n1")); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		r, _ := call2026(t, hs.URL, req2026{method: "tools/list"})
		var out []string
		for _, tool := range r.Tools {
			out = append(out, tool["name"].(string))
		}
		return out
	}
	first := names()
	if !slices.IsSorted(first) || len(first) != 16 {
		t.Fatalf("tools %v, want 16 sorted by name", first)
	}
	for range 3 {
		if again := names(); !slices.Equal(again, first) {
			t.Fatalf("tools %v, then %v", first, again)
		}
	}
}

func TestResourceNotFoundCodeByGeneration(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	q := req2026{method: "resources/read", params: map[string]any{"uri": "test://none"}}
	m := answer(t, q.send(t, hs.URL))
	data, _ := json.Marshal(m.Error)
	if m.Error == nil || m.Error.Code != -32602 || !strings.Contains(string(data), `"uri":"test://none"`) {
		t.Errorf("2026-07-28 caller got %s, want -32602 with data.uri", data)
	}
	legacy := answer(t, post(t, hs.URL, `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://none"}}`, nil))
	if legacy.Error == nil || legacy.Error.Code != -32002 {
		t.Errorf("plain POST got %+v, want -32002", legacy.Error)
	}
}

func TestLegacyRequestsStayLegacy(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	tests := []struct{ name, body string }{
		{"plain POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
		{"session version in _meta", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := answer(t, post(t, hs.URL, tt.body, nil))
			if m.Error != nil || string(m.Result) != "{}" {
				t.Errorf("ping = %s, %+v; want the legacy {}", m.Result, m.Error)
			}
		})
	}
}

// sseMessages reads the data of each SSE event until the body ends.
func sseMessages(t *testing.T, body io.Reader) []mcp.Message {
	t.Helper()
	var out []mcp.Message
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var m mcp.Message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		out = append(out, m)
	}
	return out
}

func TestStatelessProgressOnTheResponseStream(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	meta := meta2026()
	meta["progressToken"] = "p1"
	q := req2026{method: "tools/call", params: map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 300}, "_meta": meta}}
	resp := q.send(t, hs.URL)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content-type %q, want text/event-stream", ct)
	}
	msgs := sseMessages(t, resp.Body)
	if len(msgs) < 2 || msgs[0].Method != "notifications/progress" || !strings.Contains(string(msgs[0].Params), `"p1"`) {
		t.Fatalf("events %+v, want progress with token p1 first", msgs)
	}
	last := msgs[len(msgs)-1]
	if string(last.ID) != "9" || !strings.Contains(string(last.Result), `"resultType":"complete"`) {
		t.Errorf("last event %+v, want the complete result of id 9", last)
	}
}

// logBackend answers every call after sending a log message, whatever the
// caller's level: the Server alone decides what reaches the caller.
type logBackend struct{ mcp.Backend }

func (b logBackend) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	_ = req.Client.Notify(ctx, "notifications/message", map[string]any{"level": "info", "data": "working"})
	return mcp.ToolText("done"), nil
}

func TestStatelessLogLevelPerRequest(t *testing.T) {
	cat := mcp.NewCatalog("n1", nil)
	srv := mcp.NewServer(logBackend{cat}, mcp.ServerOptions{})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	withLevel := meta2026()
	withLevel[mcp.MetaLogLevel] = "debug"
	tests := []struct {
		name     string
		meta     map[string]any
		messages int
	}{
		{"no log level: no notifications/message", meta2026(), 0},
		{"log level set: the message on the response stream", withLevel, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := req2026{method: "tools/call", params: map[string]any{"name": "any", "_meta": tt.meta}}
			resp := q.send(t, hs.URL)
			var msgs []mcp.Message
			if resp.Header.Get("Content-Type") == "text/event-stream" {
				msgs = sseMessages(t, resp.Body)
			} else {
				msgs = []mcp.Message{answer(t, resp)}
			}
			logs := 0
			for _, m := range msgs {
				if m.Method == "notifications/message" {
					logs++
				}
			}
			if last := msgs[len(msgs)-1]; logs != tt.messages || string(last.ID) != "9" || last.Result == nil {
				t.Errorf("got %d log messages and %+v last; want %d and the result", logs, last, tt.messages)
			}
		})
	}
}
