package mcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// listenStream is an open subscriptions/listen stream.
type listenStream struct {
	t *testing.T
	r *bufio.Reader
}

// openListen opens a listen stream with the given filter (request id 9).
func openListen(t *testing.T, url string, filter map[string]any) *listenStream {
	t.Helper()
	q := req2026{method: "subscriptions/listen", params: map[string]any{"notifications": filter}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(q.body()))
	for k, v := range q.headers() {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("listen answered %d %q", resp.StatusCode, ct)
	}
	return &listenStream{t: t, r: bufio.NewReader(resp.Body)}
}

// next is the stream's next message; ok is false at its end.
func (s *listenStream) next() (m mcp.Message, ok bool) {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return m, false
		}
		if data, found := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); found {
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				s.t.Fatalf("event %q: %v", data, err)
			}
			return m, true
		}
	}
}

// subscriptionID is the subscription id a notification is tagged with.
func subscriptionID(m mcp.Message) string {
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	_ = json.Unmarshal(m.Params, &p)
	if m.Result != nil {
		_ = json.Unmarshal(m.Result, &p)
	}
	return string(p.Meta[mcp.MetaSubscriptionID])
}

func TestListenStream(t *testing.T) {
	hs, cat, srv := newTestServer(t, mcp.ServerOptions{})
	tools := openListen(t, hs.URL, map[string]any{"toolsListChanged": true, "resourcesListChanged": false})
	prompts := openListen(t, hs.URL, map[string]any{"promptsListChanged": true})

	ack, _ := tools.next()
	if ack.Method != "notifications/subscriptions/acknowledged" || subscriptionID(ack) != "9" ||
		!strings.Contains(string(ack.Params), `"notifications":{"toolsListChanged":true}`) {
		t.Fatalf("first message %s %s, want the acknowledgement of toolsListChanged tagged 9", ack.Method, ack.Params)
	}
	if ack, _ := prompts.next(); ack.Method != "notifications/subscriptions/acknowledged" {
		t.Fatalf("first message %s, want the acknowledgement", ack.Method)
	}

	if err := cat.Add("more", "more", mcp.NewDemo("n1")); err != nil { // tools change
		t.Fatal(err)
	}
	if m, _ := tools.next(); m.Method != "notifications/tools/list_changed" || subscriptionID(m) != "9" {
		t.Errorf("after a tools change: %s %s, want tools/list_changed tagged 9", m.Method, m.Params)
	}
	srv.NotifyListChanged(mcp.KindPrompt)
	if m, _ := prompts.next(); m.Method != "notifications/prompts/list_changed" {
		t.Errorf("prompts-only stream got %s first, want prompts/list_changed (not the tools change)", m.Method)
	}

	srv.Close()
	end, _ := tools.next()
	if string(end.ID) != "9" || subscriptionID(end) != "9" || !strings.Contains(string(end.Result), `"resultType":"complete"`) {
		t.Errorf("at close: %+v, want the listen request's result", end)
	}
	if m, ok := tools.next(); ok {
		t.Errorf("after the result: %+v, want the end of the stream", m)
	}
}

func TestListenNeedsAFilter(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	resp := req2026{method: "subscriptions/listen"}.send(t, hs.URL)
	if m := answer(t, resp); resp.StatusCode != 400 || m.Error == nil || m.Error.Code != -32602 {
		t.Errorf("listen without notifications: %d %+v, want 400 -32602", resp.StatusCode, m.Error)
	}
}

// watchedSource has one resource, test://watched; a subscription to it
// hands the subscriber's Client to subscribed.
type watchedSource struct{ subscribed chan mcp.Client }

func (watchedSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Resources: []json.RawMessage{json.RawMessage(`{"uri":"test://watched","name":"watched"}`)}}
}

func (w watchedSource) Call(_ context.Context, req *mcp.Request) (json.RawMessage, error) {
	if req.Method == "resources/subscribe" {
		w.subscribed <- req.Client
	}
	return json.RawMessage(`{}`), nil
}

func TestListenResourceSubscriptions(t *testing.T) {
	hs, cat, _ := newTestServer(t, mcp.ServerOptions{})
	src := watchedSource{subscribed: make(chan mcp.Client, 1)}
	if err := cat.Add("w", "", src); err != nil {
		t.Fatal(err)
	}
	s := openListen(t, hs.URL, map[string]any{"resourceSubscriptions": []string{"test://watched", "test://none"}})
	ack, _ := s.next()
	if !strings.Contains(string(ack.Params), `"resourceSubscriptions":["test://watched"]`) {
		t.Fatalf("acknowledged %s, want only test://watched (test://none does not exist)", ack.Params)
	}
	peer := <-src.subscribed
	_ = peer.Notify(context.Background(), "notifications/progress", map[string]any{"progress": 1})
	_ = peer.Notify(context.Background(), "notifications/resources/updated", map[string]any{"uri": "test://watched"})
	if m, _ := s.next(); m.Method != "notifications/resources/updated" || subscriptionID(m) != "9" ||
		!strings.Contains(string(m.Params), `"uri":"test://watched"`) {
		t.Errorf("got %s %s, want resources/updated of test://watched tagged 9 (and no progress)", m.Method, m.Params)
	}
}
