package mcp

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// upIdleConnsPerHost is how many idle connections an HTTP upstream's
// transport keeps: enough for the calls a node has in flight to one
// server at once. net/http's default (2) makes every call beyond the
// second dial a new connection, and close it after.
const upIdleConnsPerHost = 64

// newUpTransport is the HTTP transport of an upstream given no client of
// its own: net/http's defaults (proxy from the environment, HTTP/2 over
// TLS, timeouts) with upIdleConnsPerHost idle connections.
func newUpTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = upIdleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, upIdleConnsPerHost)
	return t
}

// upHTTPTransport adds the configured headers to every request (and the
// traceparent of the call's span), reads the answers within their byte
// bound (the request's, else limit), taps the SSE streams and ties each
// exchange to its call (see upExchange).
type upHTTPTransport struct {
	base    http.RoundTripper
	headers map[string]string
	seen    func()
	limit   int64
	tracing *Tracing
}

func (t *upHTTPTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	traced := t.tracing != nil && trace.SpanContextFromContext(r.Context()).IsValid()
	if len(t.headers) > 0 || traced {
		r = r.Clone(r.Context())
		for k, v := range t.headers {
			r.Header.Set(k, v)
		}
		t.tracing.InjectHeader(r.Context(), r.Header)
	}
	ex := newUpExchange(r.Context())
	r = r.WithContext(ex.ctx)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		ex.release()
		return resp, err
	}
	limit := upLimit(r.Context(), t.limit)
	switch ct := resp.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "text/event-stream"):
		resp.Body = newUpBoundedSSE(resp.Body, r, limit, &upTap{sse: true, seen: t.seen, answer: ex.answer})
	case strings.HasPrefix(ct, "application/json"):
		resp.Body = &upBoundedJSON{body: resp.Body, req: r, limit: limit}
	}
	resp.Body = &upExchangeBody{ReadCloser: resp.Body, ex: ex}
	return resp, nil
}

// upHTTPClient is base with an upHTTPTransport; without a base, a client
// on own (a transport of the upstream's, see newUpTransport); with wrap,
// its transport wrapped. It returns the client and what closes the idle
// connections of the transport the upstream owns (own, or what wrap made
// of it; nil when base brought its transport and wrap is nil).
func upHTTPClient(base *http.Client, own *http.Transport, wrap func(http.RoundTripper) http.RoundTripper, headers map[string]string, seen func(), limit int64, tracing *Tracing) (*http.Client, func()) {
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	rt := c.Transport
	var idle func()
	if rt == nil {
		rt, idle = own, own.CloseIdleConnections
	}
	if wrap != nil {
		rt = wrap(rt)
		if ci, ok := rt.(interface{ CloseIdleConnections() }); ok {
			idle = ci.CloseIdleConnections
		}
	}
	c.Transport = &upHTTPTransport{base: rt, headers: headers, seen: seen, limit: limit, tracing: tracing}
	return &c, idle
}
