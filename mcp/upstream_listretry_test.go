package mcp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// flakyLister is a minimal Streamable HTTP MCP server (JSON answers only)
// whose tools/list fails while failing is set, and which never sends
// list_changed: only a retry can see that its listing works again.
type flakyLister struct {
	failing atomic.Bool
	lists   atomic.Int32
}

func (f *flakyLister) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &req) != nil || req.ID == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.answer(req.ID, req.Method))
}

func (f *flakyLister) answer(id json.RawMessage, method string) map[string]any {
	out := map[string]any{"jsonrpc": "2.0", "id": id}
	switch method {
	case "initialize":
		out["result"] = map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{"tools": map[string]any{}},
			"serverInfo": map[string]any{"name": "flaky", "version": "1"}}
	case "tools/list":
		f.lists.Add(1)
		if f.failing.Load() {
			out["error"] = map[string]any{"code": -32603, "message": "listing broken for now"}
		} else {
			out["result"] = map[string]any{"tools": []any{map[string]any{"name": "t", "inputSchema": map[string]any{"type": "object"}}}}
		}
	default:
		out["result"] = map[string]any{}
	}
	return out
}

// TestUpstreamRetriesAFailedListing: a stale upstream (its listing failed,
// the session kept) is listed again on a backoff until the listing works,
// with no list_changed from the server.
func TestUpstreamRetriesAFailedListing(t *testing.T) {
	srv := &flakyLister{}
	srv.failing.Store(true)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	u := upStart(t, mcp.ServerConfig{Name: "flaky", URL: hs.URL}, mcp.UpstreamOptions{
		StaleOnListError: true, ListRetry: 20 * time.Millisecond,
	})
	if st := u.Status(); st.ListError == "" || st.Tools != 0 {
		t.Fatalf("want a stale upstream with no tools, got %+v", st)
	}
	wait.For(t, 20*time.Second, func() bool { return srv.lists.Load() >= 3 }, "waiting for a failed listing to be tried again (%d listings)", wait.Later(func() any { return srv.lists.Load() }))
	srv.failing.Store(false)
	wait.For(t, 20*time.Second, func() bool { st := u.Status(); return st.ListError == "" && st.Tools == 1 }, "waiting for the listing to recover; status %+v", wait.Later(func() any { return u.Status() }))
	n := srv.lists.Load()
	time.Sleep(300 * time.Millisecond) // past the next backoffs: no retry once a listing works
	if got := srv.lists.Load(); got != n {
		t.Errorf("%d more listings after it recovered; retries must stop", got-n)
	}
}
