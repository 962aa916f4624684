package federation

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// probeTimeout bounds the dial that checks a peer's port after its link's
// stream broke: a refusal is immediate, anything slower says nothing.
const probeTimeout = time.Second

// linkWatch is the transport of a link's MCP session: it notices at once
// that the peer's port refuses, so the peer's entries leave the listing
// (and the clients hear it) before gossip declares a killed node dead,
// about a second and a half later. The go-sdk client reconnects a broken
// stream only after a second or more of backoff; instead, when the
// session's long-lived stream (its GET, or a subscriptions/listen POST)
// breaks, linkWatch dials the peer's port (a few times, briefly). Any HTTP answer through
// the link, or a later probe that connects (statuswatch.go probes a
// refusing link on every poll), clears the mark.
type linkWatch struct {
	l    *peerLink
	next http.RoundTripper
	// direct reports whether requests reach the peer with no proxy (a
	// refusing proxy says nothing of the peer).
	direct func(*http.Request) bool
}

func (w *linkWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := w.next.RoundTrip(r)
	switch {
	case err != nil:
		if w.direct(r) && errors.Is(err, syscall.ECONNREFUSED) {
			w.l.markRefusing(true)
		}
	default:
		w.l.markRefusing(false)
		if longLived(r) && w.direct(r) {
			res.Body = &watchedBody{ReadCloser: res.Body, ctx: r.Context(), broke: func() { go w.l.probeAfterBreak() }}
		}
	}
	return res, err
}

// longLived reports whether r opens a stream that lasts as long as the
// session: the standalone GET, or a 2026-07-28 subscriptions/listen.
func longLived(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Header.Get("Mcp-Method") == "subscriptions/listen"
}

// breakProbes are the waits before each probe after a link's stream broke:
// a killed process's connections may close a moment before its listening
// socket, which completes connections meanwhile.
var breakProbes = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

// probeAfterBreak probes the peer's port a few times after its stream
// broke, until one is refused.
func (l *peerLink) probeAfterBreak() {
	for _, d := range breakProbes {
		select {
		case <-l.f.ctx.Done():
			return
		case <-l.done:
			return
		case <-time.After(d):
		}
		if l.probe() {
			return
		}
	}
}

// probe dials the peer's port once, unless a probe is under way, and
// marks the link by the answer: refusing, or not any more (an accepted
// connection clears a mark before the go-sdk client's next attempt, which
// may be seconds away, so calls are not refused meanwhile). A dial that
// neither connects nor is refused says nothing. It reports a refusal.
func (l *peerLink) probe() bool {
	if l.endpoint == nil || l.endpoint.Hostname() == "" || !l.probing.CompareAndSwap(false, true) {
		return false
	}
	defer l.probing.Store(false)
	ctx, cancel := context.WithTimeout(l.f.ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(l.endpoint.Hostname(), urlPort(l.endpoint)))
	switch {
	case err == nil:
		_ = c.Close()
		l.markRefusing(false)
	case errors.Is(err, syscall.ECONNREFUSED):
		l.markRefusing(true)
		return true
	}
	return false
}

// watchedBody calls broke once when a read fails, unless the request was
// cancelled or the body closed on this side.
type watchedBody struct {
	io.ReadCloser
	ctx    context.Context
	broke  func()
	closed atomic.Bool
	once   atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.ctx.Err() == nil && !b.closed.Load() && b.once.CompareAndSwap(false, true) {
		b.broke()
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

// markRefusing records whether the peer's port refused last; a change
// re-reads the listing at once.
func (l *peerLink) markRefusing(on bool) {
	if l.refusing.Swap(on) != on && l.f.ctx.Err() == nil {
		go l.f.changed() // not on the session's goroutine, which may hold the upstream's locks
	}
}

// watchClient wraps a link's client in a linkWatch.
func (l *peerLink) watchClient(c *http.Client) *http.Client {
	proxy := l.f.base.Proxy
	direct := func(r *http.Request) bool {
		if proxy == nil {
			return true
		}
		u, err := proxy(r)
		return err == nil && u == nil
	}
	return &http.Client{Transport: &linkWatch{l: l, next: c.Transport, direct: direct}}
}
