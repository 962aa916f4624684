package mcp

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
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
