package federation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// inlinePoster POSTs forwarded calls to plain-http peers over pooled
// HTTP/1.1 connections, writing the request and reading the answer in the
// calling goroutine. net/http's Transport hands every request to a writer
// goroutine and every answer back from a reader goroutine; a forward is
// small, so on a busy two-core machine those handoffs (thread wake-ups)
// cost more than the work itself (BenchmarkForward). Peers reached over
// https or through a proxy use net/http.
type inlinePoster struct {
	tokens  *nodeTokens
	from    string
	maxIdle int
	dialer  net.Dialer

	mu     sync.Mutex
	idle   map[string][]*inlineConn // by host:port
	closed bool
}

// inlineConn is one pooled connection with its buffers.
type inlineConn struct {
	host string // as dialled: the pool's key
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// errStaleConn marks a pooled connection the peer had closed while idle:
// nothing of the request was answered, so it is sent again on a new one.
var errStaleConn = errors.New("pooled connection closed by the peer")

// longAgo is a deadline in the past: it aborts a blocked read or write.
var longAgo = time.Unix(1, 0)

func newInlinePoster(tokens *nodeTokens, from string, maxIdle int) *inlinePoster {
	return &inlinePoster{tokens: tokens, from: from, maxIdle: maxIdle,
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, idle: map[string][]*inlineConn{}}
}

// usable reports whether u can go inline: plain http and no proxy.
func (p *inlinePoster) usable(u *url.URL) bool {
	if u.Scheme != "http" || u.User != nil {
		return false
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err == nil && proxy == nil
}

// post sends body to u, the node named member, and returns the status and
// the answer's body (at most limit bytes; more is mcp.ErrResultTooLarge).
func (p *inlinePoster) post(ctx context.Context, u *url.URL, member string, body []byte, limit int64) (int, []byte, error) {
	tok, err := p.tokens.forNode(member, u)
	if err != nil {
		return 0, nil, err
	}
	head := p.header(u, tok, len(body))
	for {
		c, reused, err := p.conn(ctx, u.Host)
		if err != nil {
			return 0, nil, err
		}
		status, answer, err := p.roundTrip(ctx, c, head, body, limit)
		if err == nil {
			return status, answer, nil
		}
		if !reused || !errors.Is(err, errStaleConn) || ctx.Err() != nil {
			return 0, nil, err
		}
	}
}

// header is the request's line and headers, the same net/http would send
// through tokenTransport.
func (p *inlinePoster) header(u *url.URL, tok string, n int) string {
	return "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUser-Agent: mcpmesh\r\nContent-Type: application/json\r\nAccept: application/json" +
		"\r\nAuthorization: Bearer " + tok + "\r\n" + HeaderForwarded + ": " + p.from +
		"\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
}

// roundTrip writes one request on c and reads its answer, then pools c
// again if the answer allows it, else closes it.
func (p *inlinePoster) roundTrip(ctx context.Context, c *inlineConn, head string, body []byte, limit int64) (int, []byte, error) {
	// Only the context ends a blocked exchange (no socket deadline of its
	// own, which could fire first and tell a timeout from an unreachable
	// peer wrongly).
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(longAgo) })
	status, answer, keep, err := c.exchange(head, body, limit)
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
	return status, answer, err
}

// exchange writes the request and reads the whole answer.
func (c *inlineConn) exchange(head string, body []byte, limit int64) (status int, answer []byte, keep bool, err error) {
	_, _ = c.bw.WriteString(head)
	_, _ = c.bw.Write(body)
	if err := c.bw.Flush(); err != nil {
		return 0, nil, false, fmt.Errorf("%w: write: %w", errStaleConn, err)
	}
	if _, err := c.br.Peek(1); err != nil { // not one byte of an answer
		if errors.Is(err, io.EOF) || isReset(err) {
			err = fmt.Errorf("%w: %w", errStaleConn, err)
		}
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	// On an error the body is left unclosed: closing it would read the
	// rest of it. The connection is closed instead (keep is false).
	answer, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return 0, nil, false, err
	case int64(len(answer)) > limit:
		return 0, nil, false, errTooLarge(limit)
	}
	_ = resp.Body.Close() // at its end: nothing left to read
	// 1xx answers are not final: the connection is not pooled after one
	return resp.StatusCode, answer, !resp.Close && resp.StatusCode >= 200, nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// conn returns an idle connection to host, or dials one.
func (p *inlinePoster) conn(ctx context.Context, host string) (*inlineConn, bool, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errors.New("federation is closed")
	}
	if list := p.idle[host]; len(list) > 0 {
		c := list[len(list)-1]
		p.idle[host] = list[:len(list)-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	nc, err := p.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &inlineConn{host: host, nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 16<<10)}, false, nil
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
