package gateway

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

func TestSlowBodyIsCutAtTheReadTimeout(t *testing.T) {
	n := startNode(t, nodeOptions{conns: &ConnLimits{ReadTimeout: 300 * time.Millisecond}})
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", http.MethodPost, "/mcp", "", http.StatusUnauthorized},
		{"valid token", http.MethodPost, "/mcp", n.admin, http.StatusRequestTimeout},
		{"admin route", http.MethodPost, "/api/servers", n.admin, http.StatusRequestTimeout},
		{"route that reads no body", http.MethodGet, "/health", "", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := dialRaw(t, n)
			conn.head(t, c.method, c.path, c.token, 10000)
			whole := make(chan bool, 1)
			go func() { whole <- conn.trickle(10000, 20*time.Millisecond) }() // 200 s of body
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			r, err := conn.read()
			if err != nil || r.code != c.status {
				t.Fatalf("answer %d %s (%v), want %d", r.code, r.body, err, c.status)
			}
			if c.status == http.StatusRequestTimeout && !strings.Contains(r.errorText(t), "read timeout of 300ms") {
				t.Errorf("408 says %q, want it to name the read timeout", r.body)
			}
			conn.closedByServer(t)
			if <-whole {
				t.Error("the whole slow body was read")
			}
		})
	}
}

func TestIdleAndSilentConnectionsClose(t *testing.T) {
	n := startNode(t, nodeOptions{conns: &ConnLimits{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}})
	t.Run("idle after an answer", func(t *testing.T) {
		conn := dialRaw(t, n)
		if r := conn.do(t, http.MethodGet, "/api/tools", n.admin); r.code != http.StatusOK {
			t.Fatalf("GET /api/tools = %d %s", r.code, r.body)
		}
		conn.closedByServer(t)
	})
	t.Run("silent from the start", func(t *testing.T) {
		dialRaw(t, n).closedByServer(t)
	})
}

// sseLines reads an SSE stream line by line onto a channel.
func sseLines(t *testing.T, resp *http.Response) <-chan string {
	t.Helper()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return lines
}

// awaitLine reads lines until one has prefix; the stream must not end first.
func awaitLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	guard := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before a line %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-guard:
			t.Fatalf("no line %q", prefix)
		}
	}
}

// initSession opens an MCP session with the admin token.
func (n *testNode) initSession(t *testing.T) string {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, n.srv.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.admin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	r := send(t, req)
	sid := r.header.Get("Mcp-Session-Id")
	if r.code != http.StatusOK || sid == "" {
		t.Fatalf("initialize = %d %s", r.code, r.body)
	}
	return sid
}

// sseRequest opens an SSE stream of session sid: GET, or POST of body.
func (n *testNode) sseRequest(t *testing.T, method, sid, body string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest(method, n.srv.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.admin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("%s /mcp = %d %s, want an SSE stream", method, resp.StatusCode, ct)
	}
	return sseLines(t, resp)
}

func TestSSEStreamsOutliveTheDeadlinesWithKeepAlives(t *testing.T) {
	const bound = 100 * time.Millisecond
	n := startNode(t, nodeOptions{conns: &ConnLimits{ReadTimeout: bound, WriteTimeout: bound, IdleTimeout: bound,
		SSEKeepAlive: 20 * time.Millisecond}})
	sid := n.initSession(t)
	get := n.sseRequest(t, http.MethodGet, sid, "")
	call := n.sseRequest(t, http.MethodPost, sid,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":1000}}}`)
	for range 25 { // 25 keep-alives: longer than each deadline several times over
		awaitLine(t, get, ": keep-alive")
		awaitLine(t, call, ": keep-alive")
	}
	if l := awaitLine(t, call, "data: "); !strings.Contains(l, `"id":5`) || !strings.Contains(l, "slept 1000 ms") {
		t.Errorf("the call's stream ended with %s", l)
	}
	n.gw.mcp.NotifyListChanged(mcp.KindTool)
	if l := awaitLine(t, get, "data: "); !strings.Contains(l, "list_changed") {
		t.Errorf("the GET stream carried %s, want the list change", l)
	}
}
