package federation

import (
	"errors"
	"net/http"
	"sync"
)

// upstreamIdleConns is how many idle connections to one HTTP upstream
// the node keeps (as mcp's own transport for upstreams does).
const upstreamIdleConns = 64

// upstreamTransport reaches the node's HTTP upstreams: a plain-http URL
// with no proxy over inline pooled connections (inlineTransport: no
// goroutine handoff per request), each request written once, as net/http
// sends a POST; https and proxied upstreams over next, and every request
// once the engine is closed (the upstreams close after it, and their
// sessions' DELETEs still go out).
type upstreamTransport struct {
	inline *inlinePoster
	next   http.RoundTripper
	hosts  sync.Map // the pool keys (scheme://host:port) its requests used
}

func (t *upstreamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.inline.usable(r.URL) || t.inline.isClosed() {
		return t.next.RoundTrip(r)
	}
	t.hosts.LoadOrStore(r.URL.Scheme+"://"+r.URL.Host, true)
	resp, err := inlineTransport{p: t.inline, once: true}.RoundTrip(r)
	if errors.Is(err, errPosterClosed) && r.GetBody != nil { // closed since
		if r.Body, err = r.GetBody(); err != nil {
			return nil, err
		}
		return t.next.RoundTrip(r)
	}
	return resp, err
}

// UpstreamTransport is next for the node's Streamable HTTP upstreams
// (mcp.UpstreamOptions.WrapTransport), with plain-http ones reached
// inline (see upstreamTransport). Its idle connections close with the
// engine.
func (f *Engine) UpstreamTransport(next http.RoundTripper) http.RoundTripper {
	return &upstreamTransport{inline: f.upInline, next: next}
}

// CloseIdleConnections closes the idle inline connections to the hosts
// this upstream reached, and next's (the upstream is closed).
func (t *upstreamTransport) CloseIdleConnections() {
	t.hosts.Range(func(k, _ any) bool {
		t.inline.closeIdle(k.(string))
		return true
	})
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
