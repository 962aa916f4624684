package federation

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// inlinePoster POSTs forwarded requests to plain-http peers over pooled
// HTTP/1.1 connections, writing the request and reading the answer in the
// calling goroutine. net/http's Transport hands every request to a writer
// goroutine and every answer back from a reader goroutine; a forward is
// small, so on a busy two-core machine those handoffs (thread wake-ups)
// cost more than the work itself: measured with BenchmarkForward, a no-op
// call forwarded through net/http took about 1.6x as long at one caller as
// through this client (docs/federation.md, "How a node reaches a peer").
// https peers are reached the same way over TLS (tlsConf: verified, never
// skipped, sessions resumed); peers reached through a proxy use net/http.
type inlinePoster struct {
	maxIdle int
	dialer  net.Dialer
	tlsConf *tls.Config // nil: https peers are not served inline

	mu     sync.Mutex
	idle   map[string][]*inlineConn // by host:port
	closed bool
}

// inlineConn is one pooled connection with its buffers.
type inlineConn struct {
	host string // scheme://host:port as dialled: the pool's key
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// errStaleConn marks a pooled connection the peer had closed while idle:
// nothing of the request was answered, so it is sent again on a new one.
var errStaleConn = errors.New("pooled connection closed by the peer")

// errPosterClosed: the poster was closed (with the engine).
var errPosterClosed = errors.New("federation is closed")

// longAgo is a deadline in the past: it aborts a blocked read or write.
var longAgo = time.Unix(1, 0)

// drainMax is how much of an answer's body is read past what its reader
// took, so that the connection can carry the next request: the end of a
// chunked stream. A longer rest closes the connection instead.
const drainMax = 4 << 10

func newInlinePoster(maxIdle int, tlsConf *tls.Config) *inlinePoster {
	return &inlinePoster{maxIdle: maxIdle, tlsConf: tlsConf,
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, idle: map[string][]*inlineConn{}}
}

// usable reports whether u can go inline: http, or https with a TLS
// configuration, and no proxy.
func (p *inlinePoster) usable(u *url.URL) bool {
	if (u.Scheme != "http" && (u.Scheme != "https" || p.tlsConf == nil)) || u.User != nil {
		return false
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err == nil && proxy == nil
}

// inlineHead is the request line and headers of a POST of n bytes to u
// with the headers h, as net/http would send them.
func inlineHead(u *url.URL, h http.Header, n int) string {
	var b strings.Builder
	b.WriteString("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: mcpmesh\r\n")
	_ = h.Write(&b)
	b.WriteString("Content-Length: " + strconv.Itoa(n) + "\r\n\r\n")
	return b.String()
}

// post sends head and body to u and hands the answer to read, which reads
// of its body what it needs (bounding it); the connection is pooled again
// when read succeeded and the body ended.
func (p *inlinePoster) post(ctx context.Context, u *url.URL, head string, body []byte, read func(*http.Response) error) error {
	once := sendOnce(ctx)
	for {
		c, reused, err := p.conn(ctx, u, once)
		if err != nil {
			return err
		}
		err = p.roundTrip(ctx, c, head, body, read)
		if err == nil || !reused || !errors.Is(err, errStaleConn) || ctx.Err() != nil || once {
			return err
		}
	}
}

type sendOnceKey struct{}

// withSendOnce marks ctx as carrying a request that must not be sent
// twice (a service call, which goes to another provider instead): a
// pooled connection is checked before the request is written on it, and
// a connection lost after the write is an error, never a second send (the
// peer may have read the request and run it before it died).
func withSendOnce(ctx context.Context) context.Context {
	return context.WithValue(ctx, sendOnceKey{}, true)
}

func sendOnce(ctx context.Context) bool {
	once, _ := ctx.Value(sendOnceKey{}).(bool)
	return once
}

// alive reports whether a pooled connection is still open and quiet: no
// FIN, reset or stray bytes (a TLS alert) from the peer since it was
// pooled (peekClosed, on the socket beneath TLS).
func (c *inlineConn) alive() bool {
	nc := c.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	return c.br.Buffered() == 0 && !peekClosed(nc)
}

// roundTrip writes one request on c and reads its answer, then pools c
// again if the answer allows it, else closes it.
func (p *inlinePoster) roundTrip(ctx context.Context, c *inlineConn, head string, body []byte, read func(*http.Response) error) error {
	// Only the context ends a blocked exchange (no socket deadline of its
	// own, which could fire first and tell a timeout from an unreachable
	// peer wrongly).
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(longAgo) })
	keep, err := c.exchange(head, body, read)
	if !stop() { // the deadline was moved into the past: ctx is done
		keep = false
		if err != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
	}
	if keep && err == nil {
		p.put(c)
	} else {
		_ = c.nc.Close()
	}
	return err
}

// exchange writes the request and has read read the answer.
func (c *inlineConn) exchange(head string, body []byte, read func(*http.Response) error) (keep bool, err error) {
	_, _ = c.bw.WriteString(head)
	_, _ = c.bw.Write(body)
	if err := c.bw.Flush(); err != nil {
		return false, fmt.Errorf("%w: write: %w", errStaleConn, err)
	}
	if _, err := c.br.Peek(1); err != nil { // not one byte of an answer
		if errors.Is(err, io.EOF) || isReset(err) {
			err = fmt.Errorf("%w: %w", errStaleConn, err)
		}
		return false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return false, err
	}
	// On an error the body is left unclosed: closing it would read the
	// rest of it. The connection is closed instead (keep is false).
	if err := read(resp); err != nil {
		return false, err
	}
	if n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, drainMax)); err != nil || n == drainMax {
		return false, nil
	}
	_ = resp.Body.Close() // at its end: nothing left to read
	// 1xx answers are not final: the connection is not pooled after one
	return !resp.Close && resp.StatusCode >= 200, nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// conn returns an idle connection to u's host (checked alive first when
// check is set), or dials one.
func (p *inlinePoster) conn(ctx context.Context, u *url.URL, check bool) (*inlineConn, bool, error) {
	key := u.Scheme + "://" + u.Host
	for {
		c, err := p.idleConn(key)
		if err != nil {
			return nil, false, err
		}
		if c == nil {
			break
		}
		if !check || c.alive() {
			return c, true, nil
		}
		_ = c.nc.Close()
	}
	nc, err := p.dial(ctx, u)
	if err != nil {
		return nil, false, err
	}
	return &inlineConn{host: key, nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 16<<10)}, false, nil
}

// dial connects to u's host: over TLS for https, the certificate verified
// against the poster's roots and u's host name (a session resumed when
// the peer's ticket is cached).
func (p *inlinePoster) dial(ctx context.Context, u *url.URL) (net.Conn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", dialAddr(u))
	if err != nil || u.Scheme != "https" {
		return nc, err
	}
	conf := p.tlsConf.Clone()
	conf.ServerName = u.Hostname()
	tc := tls.Client(nc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return tc, nil
}

// idleConn takes an idle connection to host off the pool (nil if none).
func (p *inlinePoster) idleConn(host string) (*inlineConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPosterClosed
	}
	list := p.idle[host]
	if len(list) == 0 {
		return nil, nil
	}
	c := list[len(list)-1]
	p.idle[host] = list[:len(list)-1]
	return c, nil
}

// put pools c, unless the pool for its host is full or closed.
func (p *inlinePoster) put(c *inlineConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[c.host]) >= p.maxIdle {
		_ = c.nc.Close()
		return
	}
	p.idle[c.host] = append(p.idle[c.host], c)
}

// closeIdle closes the idle connections to host (scheme://host:port).
func (p *inlinePoster) closeIdle(host string) {
	p.mu.Lock()
	list := p.idle[host]
	delete(p.idle, host)
	p.mu.Unlock()
	for _, c := range list {
		_ = c.nc.Close()
	}
}

// isClosed reports whether close was called.
func (p *inlinePoster) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes every idle connection; later posts fail.
func (p *inlinePoster) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, list := range p.idle {
		for _, c := range list {
			_ = c.nc.Close()
		}
	}
	clear(p.idle)
}

// dialAddr is u's host:port, the scheme's port when u names none.
func dialAddr(u *url.URL) string {
	if port := u.Port(); port != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
