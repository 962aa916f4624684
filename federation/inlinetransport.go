package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// inlineTransport is an http.RoundTripper over inlinePoster's pooled
// connections, for the proxied session requests to plain-http members
// (sessionroute.go): the request is written and its answer's head read in
// the calling goroutine, and its body is read by whoever reads the
// response (an SSE stream as it comes), with no goroutine handoff per
// request as net/http's Transport makes (see inlinePoster). The
// connection goes back to the pool once the body has been read to its end
// and closed; the request's context ending cuts the exchange at any point.
// With once set, a request is written once: a pooled connection found
// closed after the write is an error, not a reason to send it again.
type inlineTransport struct {
	p    *inlinePoster
	once bool
}

func (t inlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := requestBody(r)
	if err != nil {
		return nil, err
	}
	head := requestHead(r, body)
	for {
		c, reused, err := t.p.conn(r.Context(), r.URL, true) // checked: a stale one is rarely written to
		if err != nil {
			return nil, err
		}
		resp, err := t.send(r, c, head, body)
		if err == nil || t.once || !reused || !errors.Is(err, errStaleConn) || r.Context().Err() != nil {
			return resp, err
		}
	}
}

// send writes the request on c and reads its answer's head; the body is
// left to the response's reader (inlineBody).
func (t inlineTransport) send(r *http.Request, c *inlineConn, head string, body []byte) (*http.Response, error) {
	ctx := r.Context()
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(longAgo) })
	resp, err := c.start(r, head, body)
	if err != nil {
		stop()
		_ = c.nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	resp.Body = &inlineBody{body: resp.Body, c: c, p: t.p, stop: stop,
		keep: !resp.Close && resp.StatusCode >= 200}
	return resp, nil
}

// start writes the request and reads the head of its answer.
func (c *inlineConn) start(r *http.Request, head string, body []byte) (*http.Response, error) {
	_, _ = c.bw.WriteString(head)
	_, _ = c.bw.Write(body)
	if err := c.bw.Flush(); err != nil {
		return nil, fmt.Errorf("%w: write: %w", errStaleConn, err)
	}
	if _, err := c.br.Peek(1); err != nil { // not one byte of an answer
		if errors.Is(err, io.EOF) || isReset(err) {
			err = fmt.Errorf("%w: %w", errStaleConn, err)
		}
		return nil, err
	}
	return http.ReadResponse(c.br, r)
}

// requestBody reads r's body whole: it is sent again if a pooled
// connection turns out stale (a proxied body is in memory already).
func requestBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	defer r.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r.Body); err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b.Bytes(), nil
}

// requestHead is r's request line and headers, as net/http would send
// them, with the length of body.
func requestHead(r *http.Request, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + r.URL.Host + "\r\n")
	if r.Header.Get("User-Agent") == "" {
		b.WriteString("User-Agent: mcpmesh\r\n")
	}
	_ = r.Header.WriteSubset(&b, map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true})
	if body != nil || r.Method == http.MethodPost {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// inlineBody is an answer's body on a pooled connection: closed after it
// was read to its end, it gives the connection back to the pool; closed
// before, or cut by the request's context, it closes the connection.
type inlineBody struct {
	body io.ReadCloser
	c    *inlineConn
	p    *inlinePoster
	stop func() bool // ends the context's watch; false if it fired
	keep bool        // the answer allows the connection's reuse

	once sync.Once
	mu   sync.Mutex
	eof  bool
}

func (b *inlineBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *inlineBody) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		ended := b.eof
		b.mu.Unlock()
		if b.stop() && ended && b.keep {
			_ = b.body.Close() // at its end: nothing left to read
			b.p.put(b.c)
			return
		}
		_ = b.c.nc.Close()
	})
	return nil
}
