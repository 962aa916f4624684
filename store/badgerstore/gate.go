package badgerstore

import (
	"sync"

	"github.com/mcpmesh/mcpmesh/store"
)

// gate counts the calls in progress so that Close can wait for them before
// closing Badger. Unlike an RWMutex it never blocks enter: a call made while
// Close waits (say, from inside a Scan callback) fails with ErrClosed
// instead of deadlocking. The zero value is an open gate.
type gate struct {
	mu     sync.Mutex
	idle   sync.Cond
	n      int
	closed bool
}

// enter registers a call, or returns ErrClosed.
func (g *gate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return store.ErrClosed
	}
	g.n++
	return nil
}

// exit ends a call registered by enter.
func (g *gate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		g.idle.Broadcast()
	}
}

// close shuts the gate and waits until no call is in progress. It reports
// whether this call was the one that closed it.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	g.idle.L = &g.mu
	for g.n > 0 {
		g.idle.Wait()
	}
	return true
}
