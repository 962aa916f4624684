package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Plain POSTs, the way curl and simple scripts call the node: no
// initialize, no session, any Accept header, an application/json answer.

var demoTools = []string{"whoami", "echo", "add", "sleep"}

type listedTool struct {
	Name        string          `json:"name"`
	Source      string          `json:"source"`
	Meta        map[string]any  `json:"_meta"`
	InputSchema json.RawMessage `json:"inputSchema"`
}

type toolsPage struct {
	Tools      []listedTool `json:"tools"`
	NextCursor string       `json:"nextCursor"`
}

type callResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	IsError bool           `json:"isError"`
	Meta    map[string]any `json:"_meta"`
}

func (r callResult) text() string {
	var parts []string
	for _, c := range r.Content {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

func TestPlainPOST(t *testing.T) {
	servers := standardServers(t)
	n := startNode(t, nodeOptions{name: "plain", demo: true, servers: servers,
		extra: []string{"--read-timeout", "3s", "--max-unauthenticated-conns", "4"}})
	t.Run("accept", func(t *testing.T) { testPlainAccept(t, n) })
	t.Run("pagination", func(t *testing.T) { testPlainPagination(t, n, servers["evh"].URL) })
	t.Run("call", func(t *testing.T) { testPlainCall(t, n) })
	t.Run("errors", func(t *testing.T) { testPlainErrors(t, n) })
	t.Run("dns-rebinding", func(t *testing.T) { testDNSRebinding(t, n) })
	t.Run("connections", func(t *testing.T) { testPlainConnections(t, n) }) // in e2e_plain_conns_test.go
}

func testPlainAccept(t *testing.T, n *node) {
	body := []byte(`{"jsonrpc":"2.0","id":"a-1","method":"tools/list"}`)
	for _, accept := range []string{"", "*/*", "application/json", "application/json, text/event-stream"} {
		t.Run("accept="+accept, func(t *testing.T) {
			r := n.do(t, http.MethodPost, "/mcp/http", body, map[string]string{"Accept": accept})
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, Content-Type %q, want 200 application/json; body %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			if sid := r.header.Get("Mcp-Session-Id"); sid != "" {
				t.Errorf("a sessionless call got Mcp-Session-Id %q", sid)
			}
			var rep rpcReply
			var page toolsPage
			if err := json.Unmarshal(r.body, &rep); err != nil || string(rep.ID) != `"a-1"` {
				t.Fatalf("answer %s: id %s, err %v; want id \"a-1\"", r.body, rep.ID, err)
			}
			rep.decode(t, &page)
			if len(page.Tools) == 0 {
				t.Fatalf("tools/list listed no tools: %s", r.body)
			}
			checkSources(t, page.Tools, n.name)
		})
	}
}

func checkSources(t *testing.T, tools []listedTool, want string) {
	t.Helper()
	for _, tool := range tools {
		if tool.Source != want || tool.Meta["mcpmesh/source"] != want {
			t.Errorf("tool %q: source %q, _meta[mcpmesh/source] %v; want %q in both", tool.Name, tool.Source, tool.Meta["mcpmesh/source"], want)
		}
	}
}

// listAllTools follows nextCursor through every page of tools/list.
func listAllTools(t *testing.T, n *node) (tools []listedTool, pages int) {
	t.Helper()
	cursor := ""
	for pages = 1; pages <= 100; pages++ {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var page toolsPage
		n.rpc(t, "tools/list", params).decode(t, &page)
		tools = append(tools, page.Tools...)
		if cursor = page.NextCursor; cursor == "" {
			return tools, pages
		}
	}
	t.Fatalf("tools/list still had a nextCursor after 100 pages")
	return nil, 0
}

func testPlainPagination(t *testing.T, n *node, directURL string) {
	tools, pages := listAllTools(t, n)
	if pages < 2 {
		t.Errorf("%d tools came in %d page(s); want more than one page (100 a page)", len(tools), pages)
	}
	checkSources(t, tools, n.name)
	want := append([]string(nil), demoTools...)
	for _, name := range directToolNames(t, directURL, "") {
		for _, prefix := range []string{"ev", "ev2", "ev3", "evh"} {
			want = append(want, prefix+"__"+name)
		}
	}
	got := map[string]int{}
	for _, tool := range tools {
		got[tool.Name]++
		if got[tool.Name] == 2 {
			t.Errorf("tool %q listed twice across pages", tool.Name)
		}
		if strings.Contains(tool.Name, "__") && !slices.Contains(want, tool.Name) {
			t.Errorf("unexpected upstream tool %q", tool.Name)
		}
	}
	for _, name := range want {
		if got[name] == 0 {
			t.Errorf("tool %q missing from the %d listed tools", name, len(tools))
		}
	}
	t.Logf("%d tools in %d pages", len(tools), pages)
}

func testPlainCall(t *testing.T, n *node) {
	cases := []struct {
		name, tool string
		args       any
		want       string // substring of the text content
		isError    bool
	}{
		{"echo", "echo", map[string]any{"text": "hello mesh"}, "hello mesh", false},
		{"echo {}", "echo", map[string]any{}, "", false},
		{"add", "add", map[string]any{"a": 2, "b": 40}, "42", false},
		{"add {}", "add", map[string]any{}, "0", false},
		{"whoami", "whoami", map[string]any{}, n.name, false},
		{"whoami no arguments", "whoami", nil, n.name, false},
		{"sleep", "sleep", map[string]any{"ms": 5}, "", false},
		{"sleep {}", "sleep", map[string]any{}, "", false},
		{"stdio upstream", "ev__test_simple_text", map[string]any{}, "simple text response", false},
		{"http upstream", "evh__test_simple_text", map[string]any{}, "simple text response", false},
		{"tool failure", "ev__test_error_handling", map[string]any{}, "intentionally returns an error", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{"name": tc.tool}
			if tc.args != nil {
				params["arguments"] = tc.args
			}
			var res callResult
			n.rpc(t, "tools/call", params).decode(t, &res)
			if res.IsError != tc.isError || !strings.Contains(res.text(), tc.want) {
				t.Errorf("isError %v, text %q; want isError %v and text containing %q", res.IsError, res.text(), tc.isError, tc.want)
			}
		})
	}
}

func testPlainErrors(t *testing.T, n *node) {
	cases := []struct {
		name, body string
		code       int
	}{
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,"method":"tools/list"`, -32700},
		{"not JSON at all", `hello`, -32700},
		{"wrong jsonrpc version", `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`, -32600},
		{"method not a string", `{"jsonrpc":"2.0","id":1,"method":5}`, -32600},
		{"params not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}`, -32600},
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"tools/frobnicate"}`, -32601},
		{"unknown tool", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`, -32602},
		{"tool name missing", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}`, -32602},
		{"bad cursor", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"not-a-cursor"}}`, -32602},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, http.MethodPost, "/mcp/http", []byte(tc.body), nil)
			if r.status >= 500 {
				t.Fatalf("status %d for bad input; body %s", r.status, r.body)
			}
			var rep rpcReply
			if err := json.Unmarshal(r.body, &rep); err != nil || rep.Error == nil {
				t.Fatalf("status %d, body %s: want a JSON-RPC error %d", r.status, r.body, tc.code)
			}
			if rep.Error.Code != tc.code || rep.Error.Message == "" {
				t.Errorf("error %d %q, want code %d with a message", rep.Error.Code, rep.Error.Message, tc.code)
			}
		})
	}
}

func testDNSRebinding(t *testing.T, n *node) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	cases := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"loopback host", nil, http.StatusOK},
		{"foreign Host", map[string]string{"Host": "evil.example:80"}, http.StatusForbidden},
		{"foreign Origin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, n.mcpURL(), strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+n.token)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if h, ok := tc.header["Host"]; ok {
				req.Host = h
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
