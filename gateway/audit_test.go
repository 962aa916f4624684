package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// auditSink collects the audit log's lines.
type auditSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
}

func (s *auditSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *auditSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// records are the lines written so far, decoded.
func (s *auditSink) records(t testing.TB) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// find is the first record whose fields hold every key and value of want.
func find(recs []map[string]any, want map[string]any) map[string]any {
	for _, r := range recs {
		if matches(r, want) {
			return r
		}
	}
	return nil
}

func matches(r, want map[string]any) bool {
	for k, v := range want {
		if fmt.Sprint(r[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// TestAuditLines: one JSON line per tools/call, prompts/get, resources/read
// and admin write, with time, node, principal, method, name, source and
// provider, outcome, duration and request id; a forwarded call is written
// on both nodes (relayed on the owner); refused admin writes are written
// too; the log is flushed and closed when the node closes.
func TestAuditLines(t *testing.T) {
	sinkA, sinkB := &auditSink{}, &auditSink{}
	b := startFedNodeWith(t, "gw-b", func(c *Config) { c.Audit = sinkB })
	a := startFedNodeWith(t, "gw-a", func(c *Config) {
		c.Audit = sinkA
		c.Rates = func(_ mcp.Principal, name string) (federation.Rate, bool) {
			return federation.Rate{N: 1, Per: time.Hour}, name == "t"
		}
	}, entrySource{})
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	alice := userToken(t, "alice", "", []string{"dev", "ops"})
	noArgs := map[string]any{}
	calls := []struct {
		path, method string
		params       any
	}{
		{"/mcp", "tools/call", map[string]any{"name": "whoami", "arguments": noArgs}},
		{"/mcp", "tools/call", map[string]any{"name": "b__whoami", "arguments": noArgs}},
		{"/mcp/peers/b", "tools/call", map[string]any{"name": "add", "arguments": map[string]any{"a": 1, "b": 2}}},
		{"/mcp", "prompts/get", map[string]any{"name": "greet"}},
		{"/mcp", "resources/read", map[string]any{"uri": "mem://note"}},
		{"/mcp", "tools/call", map[string]any{"name": "nope", "arguments": noArgs}},
		{"/mcp", "tools/call", map[string]any{"name": "t", "arguments": noArgs}},
		{"/mcp", "tools/call", map[string]any{"name": "t", "arguments": noArgs}},
		{"/mcp", "tools/list", noArgs}, // not audited
	}
	for _, c := range calls {
		rpcOn(t, a, c.path, alice, c.method, c.params)
	}
	writes := []struct {
		method, path, token, body string
		header                    []string
	}{
		{http.MethodPost, "/api/federation/peers", a.admin, `{"url":"ftp://x","name":"p2"}`, []string{"X-Request-Id", "req-42"}},
		{http.MethodDelete, "/api/servers/nope", a.admin, "", nil},
		{http.MethodPost, "/api/servers", alice, `{"name":"up9","url":"http://127.0.0.1:1/mcp"}`, nil},
		{http.MethodPatch, "/api/federation/peers/b", a.admin, `{"trust_level":"full"}`, nil},
	}
	for _, w := range writes {
		req, _ := http.NewRequest(w.method, a.url+w.path, strings.NewReader(w.body))
		req.Header.Set("Authorization", "Bearer "+w.token)
		for i := 0; i+1 < len(w.header); i += 2 {
			req.Header.Set(w.header[i], w.header[i+1])
		}
		send(t, req)
	}
	a.stop(t) // flushes and closes the log
	if !sinkA.closed {
		t.Error("gw-a closed, its audit log not closed")
	}
	recs := sinkA.records(t)
	principal := map[string]any{"sub": "alice", "groups": []any{"dev", "ops"}}
	want := []map[string]any{
		{"method": "POST /api/federation/peers", "name": "b", "outcome": "ok", "code": 201, "principal": map[string]any{"sub": "tester@example.com"}},
		{"method": "tools/call", "name": "whoami", "source": "gw-a", "provider": "gw-a", "outcome": "ok", "request_id": 7, "principal": principal},
		{"method": "tools/call", "name": "b__whoami", "source": "b", "provider": "gw-b", "outcome": "ok"},
		{"method": "tools/call", "name": "b__add", "source": "b", "provider": "gw-b", "outcome": "ok"},
		{"method": "prompts/get", "name": "greet", "source": "gw-a", "outcome": "ok"},
		{"method": "resources/read", "name": "mem://note", "source": "gw-a", "outcome": "ok"},
		{"method": "tools/call", "name": "nope", "outcome": "error", "code": -32602},
		{"method": "tools/call", "name": "t", "outcome": "ok"},
		{"method": "tools/call", "name": "t", "outcome": "rate_limited", "error": "rate_limited", "source": nil},
		{"method": "POST /api/federation/peers", "name": "p2", "outcome": "rejected", "code": 400, "request_id": "req-42"},
		{"method": "DELETE /api/servers/:name", "name": "nope", "outcome": "rejected", "code": 404},
		{"method": "POST /api/servers", "outcome": "denied", "code": 403, "principal": principal},
		{"method": "PATCH /api/federation/peers/:name", "name": "b", "outcome": "ok", "code": 200},
	}
	if len(recs) != len(want) {
		t.Errorf("gw-a wrote %d audit lines, want %d:\n%v", len(recs), len(want), recs)
	}
	for i, w := range want {
		w["node"] = "gw-a"
		if r := find(recs, w); r == nil {
			t.Errorf("no audit line like %v in\n%v", w, recs)
		} else if _, ok := r["duration_ms"].(float64); !ok || r["time"] == nil || r["request_id"] == nil {
			t.Errorf("line %d %v lacks duration_ms, time or request_id", i, r)
		}
	}
	wait.For(t, 5*time.Second, func() bool {
		return find(sinkB.records(t), map[string]any{"node": "gw-b", "name": "whoami", "relayed": true, "principal": principal}) != nil
	}, "gw-b to write the forwarded call, relayed, as alice's: %v", wait.Later(func() any { return sinkB.records(t) }))
}

// blockedWriter blocks every write until released; entered is closed
// when the first write begins.
type blockedWriter struct {
	release, entered chan struct{}
	once             sync.Once
	mu               sync.Mutex
	lines            int
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func (w *blockedWriter) Close() error { return nil }

// TestAuditDropsWhenBehind: with the writer stuck, adding lines never
// blocks: past the buffer they are dropped and counted; once it moves,
// what was queued is written, and written and dropped add up.
func TestAuditDropsWhenBehind(t *testing.T) {
	w := &blockedWriter{release: make(chan struct{}), entered: make(chan struct{})}
	a := newAuditLog(w, 2, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	a.add(auditRecord{Method: "tools/call", Name: "first"})
	<-w.entered // the writer is stuck writing the first line
	added := make(chan struct{})
	go func() {
		for i := range 10 {
			a.add(auditRecord{Method: "tools/call", Name: fmt.Sprint(i)})
		}
		close(added)
	}()
	wait.For(t, 10*time.Second, func() bool {
		select {
		case <-added:
			return true
		default:
			return false
		}
	}, "adding 10 audit lines while the writer is stuck to return")
	if dropped := testutil.ToFloat64(a.lines.WithLabelValues("dropped")); dropped != 8 {
		t.Errorf("%v of 10 lines dropped with a buffer of 2 and the writer stuck; want 8", dropped)
	}
	close(w.release)
	a.close()
	if written := testutil.ToFloat64(a.lines.WithLabelValues("written")); written != 3 || w.lines != 3 {
		t.Errorf("%v lines written, %d reached the sink; want 3 (the first and the 2 queued)", written, w.lines)
	}
	a.add(auditRecord{}) // after close: ignored, no panic
}

// TestAuditRotationBound: a file audit log is rotated at --audit-log-max-mb
// and keeps --audit-log-backups rotated files: it never holds more than
// (backups+1) × max size on disk.
func TestAuditRotationBound(t *testing.T) {
	dir := t.TempDir()
	out, err := OpenAudit(filepath.Join(dir, "audit.log"), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuditLog(out, 100_000, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	name := strings.Repeat("x", 1000)
	for range 4000 { // about 4.4 MB
		a.add(auditRecord{Method: "tools/call", Name: name})
	}
	a.close()
	if w := testutil.ToFloat64(a.lines.WithLabelValues("written")); w != 4000 {
		t.Fatalf("%v lines written, want 4000", w)
	}
	var sizes []int64
	wait.For(t, 10*time.Second, func() bool {
		sizes = fileSizes(t, dir)
		return len(sizes) == 2
	}, "the audit log's directory to hold the file and one backup: %v", wait.Later(func() any { return fileSizes(t, dir) }))
	for _, s := range sizes {
		if s > 1<<20 {
			t.Errorf("an audit file holds %d bytes; want at most 1 MB", s)
		}
	}
}

func fileSizes(t testing.TB, dir string) []int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			out = append(out, info.Size())
		}
	}
	return out
}

// TestOpenAuditStdout: "-" is standard output, which closing leaves open.
func TestOpenAuditStdout(t *testing.T) {
	w, err := OpenAudit("-", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(os.Stdout, ""); err != nil {
		t.Errorf("stdout after closing the audit log: %v", err)
	}
}

// TestCallOutcome: the audit outcome of an MCP request, from what the
// server reports of it.
func TestCallOutcome(t *testing.T) {
	cases := []struct {
		outcome, kind string
		denied        bool
		want          string
	}{
		{"ok", "", false, "ok"},
		{"tool_error", "", false, "tool_error"},
		{"error", "", false, "error"},
		{"tool_error", federation.ErrRateLimited, false, "rate_limited"},
		{"error", federation.ErrRateLimited, false, "rate_limited"},
		{"tool_error", federation.ErrPeerOffline, false, "unavailable"},
		{"error", federation.ErrPeerTimeout, false, "unavailable"},
		{"tool_error", federation.ErrServiceUnavailable, false, "unavailable"},
		{"error", "", true, "denied"},
		{"cancelled", "", false, "cancelled"},
		{"cancelled", federation.ErrPeerTimeout, false, "cancelled"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.outcome, " ", tc.kind, " ", tc.denied), func(t *testing.T) {
			if got := callOutcome(tc.outcome, tc.kind, tc.denied); got != tc.want {
				t.Errorf("callOutcome = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAuditCancelled: a call whose client leaves before the answer is
// written as cancelled.
func TestAuditCancelled(t *testing.T) {
	sink := &auditSink{}
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.Audit = sink })
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"sleep","arguments":{"ms":20000}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.url+"/mcp", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.admin)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	wait.For(t, 10*time.Second, func() bool { return a.gw.inflight.count() > 0 }, "the sleep call to be in flight")
	cancel()
	<-done
	wait.For(t, 10*time.Second, func() bool {
		return find(sink.records(t), map[string]any{"name": "sleep", "outcome": "cancelled", "request_id": "slow"}) != nil
	}, "a cancelled line for the sleep call: %v", wait.Later(func() any { return sink.records(t) }))
}
