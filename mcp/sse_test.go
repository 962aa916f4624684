package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// flushCounter is a response recorder that counts its flushes.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() {
	f.flushes++
	f.ResponseRecorder.Flush()
}

// TestSSEAnswerIsOneFlush: a session request answered on an SSE stream
// with nothing before its result reaches the client in one flush, its
// headers with its one event (as go-sdk's server does), not the headers
// first and the event after.
func TestSSEAnswerIsOneFlush(t *testing.T) {
	hs, _, srv := newTestServer(t, mcp.ServerOptions{})
	sid := initSession(t, hs.URL)
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"one"}}}`
	req := httptest.NewRequest(http.MethodPost, hs.URL, strings.NewReader(call))
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Session-Id", sid)
	rec := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	srv.Handler().ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || !strings.Contains(rec.Body.String(), `"one"`) {
		t.Fatalf("answer %q (%s), want the echo on an event stream", rec.Body.String(), ct)
	}
	if rec.flushes != 1 {
		t.Errorf("the answer took %d flushes, want 1 (headers with the event)", rec.flushes)
	}
}

// blockSource has one tool, "block", whose calls wait until cancelled and
// then say so on cancelled.
type blockSource struct {
	started, cancelled chan struct{}
}

func (b *blockSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: []json.RawMessage{json.RawMessage(`{"name":"block","inputSchema":{"type":"object"}}`)}}
}

func (b *blockSource) Call(ctx context.Context, _ *mcp.Request) (json.RawMessage, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	b.cancelled <- struct{}{}
	return nil, ctx.Err()
}

// TestSSEClientLeavingBeforeTheFirstEventCancels: a client that drops its
// POST before its stream sent anything (it cannot resume a stream whose
// event ids it never saw) cancels the request it made.
func TestSSEClientLeavingBeforeTheFirstEventCancels(t *testing.T) {
	hs, cat, _ := newTestServer(t, mcp.ServerOptions{})
	src := &blockSource{started: make(chan struct{}, 1), cancelled: make(chan struct{}, 1)}
	if err := cat.Add("blocker", "", src); err != nil {
		t.Fatal(err)
	}
	sid := initSession(t, hs.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	call := `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"block","arguments":{}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL, strings.NewReader(call))
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	upRecv(t, src.started, "the call to start")
	cancel()
	upRecv(t, errc, "the POST to end")
	upRecv(t, src.cancelled, "the request to be cancelled")
}

// TestSSECallAnsweredWhileAnotherWaits: with a stream's headers held until
// its first event, a go-sdk session still gets the answer to one call while
// another, quiet one runs on the same session.
func TestSSECallAnsweredWhileAnotherWaits(t *testing.T) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	cs := connect(t, hs.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 600000}})
		slow <- err
	}()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "meanwhile"}})
	if err != nil || res.IsError {
		t.Fatalf("echo while sleep runs = %+v, %v", res, err)
	}
	select {
	case err := <-slow:
		t.Fatalf("the sleep ended before it was cancelled: %v", err)
	default:
	}
	cancel()
	if err := upRecv(t, slow, "the cancelled sleep to return"); err == nil {
		t.Error("the cancelled sleep returned no error")
	}
}
