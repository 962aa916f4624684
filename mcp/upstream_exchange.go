package mcp

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// An HTTP exchange with an upstream (one request and its answer) is tied
// to the context of the call that made it, with one exception: once the
// call's answer has come on the exchange's event stream, the end of the
// call no longer aborts it at once. The go-sdk reads a POST's stream to its
// end before closing it, so that net/http keeps the connection; but the
// call returns (and its context ends) as soon as the answer is in, often
// before the stream's last bytes (the end of the chunked body) have been
// read, and net/http closes a connection whose request's context ends
// before its body was read to the end. Every such call made the next one
// dial a new connection (a quarter of the calls of a node at one caller).

// upDrainGrace is how long an answered exchange's stream may still take to
// end after its call is over: a server ends it right after the answer.
const upDrainGrace = time.Second

// upExchange is the context of one HTTP exchange with an upstream.
type upExchange struct {
	ctx      context.Context
	cancel   context.CancelCauseFunc
	stop     func() bool
	answered atomic.Bool
}

// newUpExchange is an exchange for a request made with the context call:
// its context ends with call's (with the same cause), or upDrainGrace
// later once answered, or when its answer's body is closed.
func newUpExchange(call context.Context) *upExchange {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(call))
	e := &upExchange{ctx: ctx, cancel: cancel}
	e.stop = context.AfterFunc(call, func() {
		cause := context.Cause(call)
		if e.answered.Load() {
			time.AfterFunc(upDrainGrace, func() { cancel(cause) })
			return
		}
		cancel(cause)
	})
	return e
}

// answer records that the call's answer came on the exchange.
func (e *upExchange) answer() { e.answered.Store(true) }

// release ends the exchange: its answer was read, or it failed.
func (e *upExchange) release() {
	e.stop()
	e.cancel(context.Canceled)
}

// upExchangeBody is an answer's body that releases its exchange when
// closed.
type upExchangeBody struct {
	io.ReadCloser
	ex *upExchange
}

func (b *upExchangeBody) Close() error {
	err := b.ReadCloser.Close()
	b.ex.release()
	return err
}
