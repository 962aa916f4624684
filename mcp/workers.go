package mcp

import (
	"sync"
	"time"
)

// workerIdle is how long a worker waits for its next request before it
// exits.
const workerIdle = 10 * time.Second

// workers runs a Server's request goroutines (and an Upstream's held
// calls) on goroutines that serve one request after another, so that a request starts on a stack an earlier
// one already grew: a fresh goroutine starts small and copies its stack
// several times as a call goes down the go-sdk client, which a profile of
// a node calling an HTTP upstream put at a tenth of the node's CPU. A
// worker exits after workerIdle without a request, or once stop closes.
type workers struct {
	jobs chan func() // unbuffered: a send succeeds only if a worker waits
	stop <-chan struct{}
	wg   *sync.WaitGroup
}

func newWorkers(stop <-chan struct{}, wg *sync.WaitGroup) *workers {
	return &workers{jobs: make(chan func()), stop: stop, wg: wg}
}

// run runs f on a waiting worker, or on a new one if none waits.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
		return
	default:
	}
	w.wg.Add(1)
	go w.loop(f)
}

func (w *workers) loop(f func()) {
	defer w.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-w.jobs:
		case <-idle.C:
			return
		case <-w.stop:
			return
		}
	}
}
