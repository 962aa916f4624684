package mcp

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"
)

// goroutineID is the id runtime.Stack prints for the calling goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	return string(id)
}

// TestWorkersServeOneRequestAfterAnother: a worker that finished a
// request takes the next one on the same goroutine, and every worker
// exits once stop closes.
func TestWorkersServeOneRequestAfterAnother(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	w := newWorkers(stop, &wg)
	ids := make(chan string, 2)
	w.run(func() { ids <- goroutineID() })
	w.jobs <- func() { ids <- goroutineID() } // taken only by a waiting worker
	if first, second := <-ids, <-ids; first != second {
		t.Errorf("the second request ran on goroutine %s, the first on %s: want the same worker", second, first)
	}
	close(stop)
	wg.Wait() // hangs (test timeout) if a worker does not exit
}

// TestUpstreamHeldCallsRunOnWorkers: a 2026-07-28 caller's call (run
// detached from its request, see callHeld) runs on a worker that served an
// earlier one, and closing the upstream ends its idle workers.
func TestUpstreamHeldCallsRunOnWorkers(t *testing.T) {
	u := NewUpstream(ServerConfig{Name: "w", URL: "http://127.0.0.1:1/mcp"}, UpstreamOptions{})
	ids := make(chan string, 2)
	if !u.goHeld(func() { ids <- goroutineID() }) {
		t.Fatal("goHeld refused a call on an open upstream")
	}
	u.held.jobs <- func() { ids <- goroutineID() } // taken only by a waiting worker
	if first, second := <-ids, <-ids; first != second {
		t.Errorf("the second call ran on goroutine %s, the first on %s: want the same worker", second, first)
	}
	closed := make(chan struct{})
	go func() { _ = u.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return with an idle worker")
	}
	if u.goHeld(func() {}) {
		t.Error("goHeld took a call on a closed upstream")
	}
}
