package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"sync"
	"syscall"
	"testing"
)

// lbProxy is a small round-robin HTTP load balancer for the e2e tests, as
// nginx's default upstream is: every request goes to the next backend in
// turn (not every connection), streamed both ways (SSE answers flushed as
// they come, the client leaving cancels the backend's request), the
// client's Host passed on. With retry, a request whose backend refuses the
// connection or answers 503 is sent again to the next backend, until each
// has had one try (nginx's `proxy_next_upstream error http_503`); the last
// answer is the client's. With retryReused as well, a request whose
// kept-alive connection failed before any answer came is sent again too
// (the backend closed the idle connection as the request went out: over
// HTTP/1.1 that race cannot be told from a call cut mid-way, so a balancer
// retries it only for traffic it knows is read-only, nginx's
// `non_idempotent`).
type lbProxy struct {
	URL string // http://127.0.0.1:PORT

	retry       bool
	retryReused bool
	srv         *http.Server
	tr          *http.Transport

	mu       sync.Mutex
	backends []*url.URL
	next     int
	sent     map[string]int // requests sent, by backend host
}

// lbOptions configure startLB.
type lbOptions struct {
	// Retry sends a request refused by a backend (connection refused, or
	// 503) to the next one.
	Retry bool
}

// startLB starts a balancer on a free loopback port in front of backends
// (base URLs, http://host:port); it is closed, with every connection
// through it, when the test ends.
func startLB(t testing.TB, o lbOptions, backends ...string) *lbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("lb listen: %v", err)
	}
	lb := &lbProxy{URL: "http://" + ln.Addr().String(), retry: o.Retry, sent: map[string]int{}}
	lb.SetBackends(t, backends...)
	lb.tr = http.DefaultTransport.(*http.Transport).Clone()
	lb.tr.MaxIdleConnsPerHost = 64
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host },
		Transport:     lb,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "lb: "+err.Error(), http.StatusBadGateway)
		},
	}
	lb.srv = &http.Server{Handler: rp}
	go func() { _ = lb.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = lb.srv.Close() // every connection, streams included
		lb.tr.CloseIdleConnections()
	})
	return lb
}

// SetBackends replaces the backends (base URLs); the turn starts over.
func (lb *lbProxy) SetBackends(t testing.TB, backends ...string) {
	t.Helper()
	var us []*url.URL
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			t.Fatalf("lb backend %q: want a base URL like http://127.0.0.1:8000", b)
		}
		us = append(us, u)
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends, lb.next = us, 0
}

// Sent is how many requests (tries included) went to each backend, by host.
func (lb *lbProxy) Sent() map[string]int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	out := make(map[string]int, len(lb.sent))
	for k, v := range lb.sent {
		out[k] = v
	}
	return out
}

// pick is the next backend in turn that tried (a request's earlier tries)
// does not hold, and how many backends there are.
func (lb *lbProxy) pick(tried map[*url.URL]bool) (*url.URL, int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for range lb.backends {
		u := lb.backends[lb.next%len(lb.backends)]
		lb.next++
		if !tried[u] {
			lb.sent[u.Host]++
			return u, len(lb.backends)
		}
	}
	return nil, len(lb.backends)
}

// RoundTrip sends r to the next backend, and with retry on to the next
// ones while they refuse it.
func (lb *lbProxy) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := lb.buffer(r)
	if err != nil {
		return nil, err
	}
	tried := map[*url.URL]bool{}
	for try := 1; ; try++ {
		u, n := lb.pick(tried)
		if u == nil {
			return nil, errors.New("no backend")
		}
		tried[u] = true
		resp, reused, err := lb.send(r, u, body)
		if !lb.retry || try >= n || !refused(resp, err) && !(lb.retryReused && reused && err != nil) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// buffer reads r's body when it may be sent more than once.
func (lb *lbProxy) buffer(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("lb: read request body: %w", err)
	}
	return b, nil
}

// send is one try of r at backend u; reused tells whether it went out on
// a kept-alive connection.
func (lb *lbProxy) send(r *http.Request, u *url.URL, body []byte) (resp *http.Response, reused bool, err error) {
	trace := &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) { reused = c.Reused }}
	out := r.Clone(httptrace.WithClientTrace(r.Context(), trace))
	out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
	out.Body, out.ContentLength = http.NoBody, 0
	if body != nil {
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	resp, err = lb.tr.RoundTrip(out)
	return resp, reused, err
}

// refused reports whether a try may go to the next backend: the
// connection was refused (nothing was sent), or the backend answered 503.
func refused(resp *http.Response, err error) bool {
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	return resp.StatusCode == http.StatusServiceUnavailable
}
