package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// notingBackend notes a source and provider for "federated", and a denial
// (answered as an unknown tool) for "secret"; "block" waits for its
// caller to leave (started is closed once it waits).
type notingBackend struct{ started chan struct{} }

func (notingBackend) List(context.Context, mcp.Kind, mcp.ListOptions) (*mcp.List, error) {
	return &mcp.List{}, nil
}

func (b notingBackend) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	if req.View().Name == "block" {
		close(b.started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if req.View().Name == "secret" {
		mcp.NoteDenied(ctx)
		return nil, mcp.Errorf(mcp.CodeInvalidParams, "unknown tool: secret")
	}
	mcp.NoteSource(ctx, "peer-b", "node-b")
	return mcp.ToolText("ok"), nil
}

// TestOnCallReportsNotes: OnCall gets, for a plain POST and a 2026-07-28
// request alike, the request's id and principal and what the backend
// noted: the source and provider, or a denial.
func TestOnCallReportsNotes(t *testing.T) {
	var mu sync.Mutex
	var got []mcp.CallInfo
	backend := notingBackend{started: make(chan struct{})}
	srv := mcp.NewServer(backend, mcp.ServerOptions{OnCall: func(ci mcp.CallInfo) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ci)
	}})
	alice := mcp.Principal{Subject: "alice", Groups: "dev"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Handler().ServeHTTP(w, r.WithContext(mcp.WithPrincipal(r.Context(), alice)))
	})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	post := func(body string) {
		resp, err := http.Post(hs.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post(`{"jsonrpc":"2.0","id":"p-1","method":"tools/call","params":{"name":"federated"}}`)
	post(`{"jsonrpc":"2.0","id":"p-2","method":"tools/call","params":{"name":"secret"}}`)
	resp := req2026{method: "tools/call", params: map[string]any{"name": "federated", "arguments": map[string]any{}}}.send(t, hs.URL)
	resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-backend.started; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL, strings.NewReader(`{"jsonrpc":"2.0","id":"p-3","method":"tools/call","params":{"name":"block"}}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	wait.For(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 }, "OnCall to report the cancelled call")
	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		id, source, provider string
		denied               bool
	}{{`"p-1"`, "peer-b", "node-b", false}, {`"p-2"`, "", "", true}, {`9`, "peer-b", "node-b", false}, {`"p-3"`, "", "", false}}
	if len(got) != len(want) {
		t.Fatalf("OnCall got %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		ci := got[i]
		if string(ci.ID) != w.id || ci.Source != w.source || ci.Provider != w.provider || ci.Denied != w.denied || ci.Principal != alice {
			t.Errorf("call %d: %+v; want id %s, source %q, provider %q, denied %v, principal alice", i, ci, w.id, w.source, w.provider, w.denied)
		}
	}
	if c := got[3]; c.Outcome != mcp.OutcomeCancelled || !c.Cancelled {
		t.Errorf("the call whose client left: outcome %q, cancelled %v; want %q, true", c.Outcome, c.Cancelled, mcp.OutcomeCancelled)
	}
}
