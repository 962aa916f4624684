package mcp_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func post(t *testing.T, url, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestSessionlessAnswersJSONWhateverAccept(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	for _, accept := range []string{"", "*/*", "application/json, text/event-stream", "text/event-stream"} {
		t.Run("accept="+accept, func(t *testing.T) {
			resp := post(t, hs.URL, body, map[string]string{"Accept": accept})
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("status %d, content-type %q", resp.StatusCode, ct)
			}
			var m mcp.Message
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || !strings.Contains(string(m.Result), `"n1"`) {
				t.Fatalf("answer %s, %v", m.Result, err)
			}
		})
	}
}

func TestTransportRefusals(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{AllowedOrigins: []string{"https://app.example"}})
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	tests := []struct {
		name string
		body string
		hdr  map[string]string
		want int
	}{
		{"foreign host", ping, map[string]string{"Host": "evil.example.com"}, 403},
		{"foreign origin", ping, map[string]string{"Origin": "http://evil.example.com"}, 403},
		{"allowed origin", ping, map[string]string{"Origin": "https://app.example"}, 200},
		{"same origin", ping, map[string]string{"Origin": hs.URL}, 200},
		{"unknown session", ping, map[string]string{"Mcp-Session-Id": "nope"}, 404},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil, 202},
		{"parse error", `{"jsonrpc"`, nil, 400},
		{"initialize with session", initBody, map[string]string{"Mcp-Session-Id": "x"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, hs.URL, tt.body, tt.hdr).StatusCode; got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

func initSession(t *testing.T, url string) string {
	t.Helper()
	resp := post(t, url, initBody, map[string]string{"Accept": "application/json, text/event-stream"})
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		t.Fatal("initialize returned no session id")
	}
	return sid
}

func TestSessionProtocolVersionHeader(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	sid := initSession(t, hs.URL)
	ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	for v, want := range map[string]int{"2025-03-26": 200, "2025-11-25": 200, "1999-01-01": 400} {
		hdr := map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": v, "Accept": "application/json"}
		if got := post(t, hs.URL, ping, hdr).StatusCode; got != want {
			t.Errorf("version %s: status %d, want %d", v, got, want)
		}
	}
}

// sseEvent reads one SSE event (id and data) from r.
func sseEvent(t *testing.T, r *bufio.Reader) (id, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading SSE: %v (id %q data %q)", err, id, data)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "" && data != "":
			return id, data
		}
	}
}

func TestResumeRequestStreamWithLastEventID(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	sid := initSession(t, hs.URL)
	call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":400},"_meta":{"progressToken":"p"}}}`
	resp := post(t, hs.URL, call, map[string]string{"Mcp-Session-Id": sid, "Accept": "application/json, text/event-stream"})
	id, data := sseEvent(t, bufio.NewReader(resp.Body))
	if !strings.Contains(data, "notifications/progress") {
		t.Fatalf("first event %s is not progress", data)
	}
	resp.Body.Close() // the client drops the stream mid-call

	req, _ := http.NewRequest("GET", hs.URL, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Last-Event-ID", id)
	get, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	all, _ := io.ReadAll(get.Body) // the stream ends after the response
	if !strings.Contains(string(all), `"id":9`) || !strings.Contains(string(all), "slept 400 ms") {
		t.Fatalf("resumed stream lacks the response: %s", all)
	}
	if strings.Contains(string(all), "id: "+id+"\n") {
		t.Errorf("resumed stream repeated event %s", id)
	}
}
