package federation

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

func testPoster(t *testing.T) *inlinePoster {
	t.Helper()
	p := newInlinePoster(2, nil)
	t.Cleanup(p.close)
	return p
}

// postAll posts body to u with a node token of "a" for "b" and reads the
// whole answer, at most limit bytes of it.
func postAll(t *testing.T, p *inlinePoster, ctx context.Context, u *url.URL, body []byte, limit int64) (int, []byte, error) {
	tok, err := newNodeTokens([]byte(testSecret), "a", scopeMCP).get("b")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok}, HeaderForwarded: {"a"}}
	var status int
	var answer []byte
	err = p.post(ctx, u, inlineHead(u, h, len(body)), body, func(resp *http.Response) error {
		status = resp.StatusCode
		var err error
		answer, err = io.ReadAll(&boundedBody{r: resp.Body, left: limit})
		return err
	})
	return status, answer, err
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestInlinePostRequest: the peer sees what net/http would have sent, and
// a kept-alive connection is reused.
func TestInlinePostRequest(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		claims := parseNodeToken(t, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if r.Method != http.MethodPost || r.URL.Path != "/mcp" || claims.Subject != "node:a" ||
			r.Header.Get(HeaderForwarded) != "a" || r.Header.Get("Content-Type") != "application/json" || string(body) != `{"x":1}` {
			http.Error(w, "bad request "+r.Method+" "+r.URL.Path+" "+string(body), http.StatusTeapot)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p := testPoster(t)
	for i := range 3 {
		status, answer, err := postAll(t, p, t.Context(), mustURL(t, srv.URL+"/mcp"), []byte(`{"x":1}`), 1<<20)
		if err != nil || status != http.StatusOK || string(answer) != `{"ok":true}` {
			t.Fatalf("post %d: %d %q %v", i, status, answer, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 posts used %d connections, want 1", n)
	}
}

// TestInlinePostStaleConn: a pooled connection the peer closed while idle
// is replaced, and the call goes through once.
func TestInlinePostStaleConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var served atomic.Int32
	go func() { // answers one request per connection, then closes it without saying so
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err == nil {
				_, _ = io.ReadAll(req.Body)
				served.Add(1)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			}
			c.Close()
		}
	}()
	p := testPoster(t)
	u := mustURL(t, "http://"+ln.Addr().String()+"/mcp")
	for i := range 3 {
		if status, _, err := postAll(t, p, t.Context(), u, []byte(`{}`), 1<<20); err != nil || status != http.StatusOK {
			t.Fatalf("post %d: %d %v", i, status, err)
		}
	}
	if n := served.Load(); n != 3 {
		t.Fatalf("the peer served %d requests, want 3 (one per post)", n)
	}
}

// TestInlinePostCancel: a call whose context ends while the peer has not
// answered returns at once with the context's error.
func TestInlinePostCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p := testPoster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, _, err := postAll(t, p, ctx, mustURL(t, srv.URL+"/mcp"), []byte(`{}`), 1<<20)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("post past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

func TestInlinePostLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
	}))
	t.Cleanup(srv.Close)
	p := testPoster(t)
	if _, _, err := postAll(t, p, t.Context(), mustURL(t, srv.URL+"/mcp"), []byte(`{}`), 99); !errors.Is(err, mcp.ErrResultTooLarge) {
		t.Fatalf("an answer over the limit: %v", err)
	}
	if _, _, err := postAll(t, p, t.Context(), mustURL(t, "http://127.0.0.1:1/mcp"), []byte(`{}`), 99); err == nil {
		t.Fatal("a post to a closed port succeeded")
	}
	for s, want := range map[string]bool{"http://127.0.0.1:1/mcp": true, "https://127.0.0.1:1/mcp": false, "http://u:p@127.0.0.1:1/mcp": false} {
		if got := p.usable(mustURL(t, s)); got != want {
			t.Errorf("usable(%s) = %v, want %v", s, got, want)
		}
	}
	p.close()
	if _, _, err := postAll(t, p, t.Context(), mustURL(t, srv.URL+"/mcp"), []byte(`{}`), 1<<20); err == nil {
		t.Fatal("a post after close succeeded")
	}
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestInlinePostReadsAtMostTheBound: a forwarded POST whose answer is 32 MiB
// reads no more than the bound and a buffer of it, and says it was too large.
func TestInlinePostReadsAtMostTheBound(t *testing.T) {
	const bound, answer = 256 << 10, 32 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range answer / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: nc}
	t.Cleanup(func() { _ = cc.Close() })
	c := &inlineConn{nc: cc, br: bufio.NewReaderSize(cc, 16<<10), bw: bufio.NewWriterSize(cc, 16<<10)}
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"
	_, err = c.exchange(head, []byte("{}"), func(resp *http.Response) error {
		_, err := io.ReadAll(&boundedBody{r: resp.Body, left: bound})
		return err
	})
	if !errors.Is(err, mcp.ErrResultTooLarge) {
		t.Fatalf("err = %v, want mcp.ErrResultTooLarge", err)
	}
	if read := cc.n.Load(); read > bound+64<<10 {
		t.Errorf("read %d bytes of a %d-byte answer; the bound is %d", read, answer, bound)
	}
}

// TestInlinePostSendOnce: a service call's request (withSendOnce) is never
// written twice: a pooled connection the peer closed while idle is
// dropped before the write (the post goes through on a new one), and one
// lost after the write is an error, not a second send on a new connection.
func TestInlinePostSendOnce(t *testing.T) {
	tests := []struct {
		name string
		// first connection: answer its first request, then close it
		// while idle (true) or read a second request and die (false)
		closeIdle  bool
		wantErr    bool
		wantServed int32
	}{
		{"closed while idle: a new connection", true, false, 2},
		{"lost after the write: no second send", false, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, served, idleClosed := onceServer(t, tt.closeIdle)
			p := testPoster(t)
			u := mustURL(t, "http://"+addr+"/mcp")
			ctx := withSendOnce(t.Context())
			if status, _, err := postAll(t, p, ctx, u, []byte(`{}`), 1<<20); err != nil || status != http.StatusOK {
				t.Fatalf("first post: %d %v", status, err)
			}
			if tt.closeIdle {
				<-idleClosed
			}
			_, _, err := postAll(t, p, ctx, u, []byte(`{}`), 1<<20)
			if (err != nil) != tt.wantErr || served.Load() != tt.wantServed {
				t.Fatalf("second post: error %v, the peer read %d requests; want error %v, %d read", err, served.Load(), tt.wantErr, tt.wantServed)
			}
		})
	}
}

// onceServer serves HTTP/1.1 on loopback: its first connection answers
// one request, then is closed while idle (closeIdle, signalled on the
// channel) or reads a second request and closes without an answer; every
// later connection answers every request.
func onceServer(t *testing.T, closeIdle bool) (string, *atomic.Int32, chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := new(atomic.Int32)
	idleClosed := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveOnce(c, i == 0, closeIdle, served, idleClosed)
		}
	}()
	return ln.Addr().String(), served, idleClosed
}

func serveOnce(c net.Conn, first, closeIdle bool, served *atomic.Int32, idleClosed chan struct{}) {
	defer c.Close()
	br := bufio.NewReader(c)
	for k := 0; ; k++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.ReadAll(req.Body)
		served.Add(1)
		if first && k == 1 {
			return // dies with the request read
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		if first && closeIdle {
			c.Close()
			close(idleClosed)
			return
		}
	}
}

// TestInlinePostTLS: an https peer is posted to inline over TLS, verified
// against the poster's roots, on one connection reused (no handshake per
// call); a poster trusting other roots refuses the peer's certificate,
// and one without a TLS configuration leaves https to net/http.
func TestInlinePostTLS(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	p := newInlinePoster(2, peerTLS(roots))
	t.Cleanup(p.close)
	u := mustURL(t, srv.URL+"/mcp")
	if !p.usable(u) || testPoster(t).usable(u) {
		t.Fatalf("usable(%s): %v with a TLS configuration, %v without; want true, false", u, p.usable(u), testPoster(t).usable(u))
	}
	for i := range 3 {
		if status, answer, err := postAll(t, p, t.Context(), u, []byte(`{}`), 1<<20); err != nil || status != http.StatusOK || string(answer) != `{"ok":true}` {
			t.Fatalf("post %d: status %d, answer %q, err %v", i, status, answer, err)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/mcp", nil)
	resp, err := inlineTransport{p: p}.RoundTrip(req) // a proxied session request, on the same pool
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a GET through inlineTransport: %v, %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 posts and a GET took %d connections, want 1", n)
	}
	other := newInlinePoster(2, peerTLS(x509.NewCertPool()))
	t.Cleanup(other.close)
	_, _, err = postAll(t, other, t.Context(), u, []byte(`{}`), 1<<20)
	if err == nil || !strings.Contains(tlsHint(err).Error(), "certificate signed by unknown authority") || !strings.Contains(tlsHint(err).Error(), "--tls-ca") {
		t.Fatalf("a post to a peer signed by an unknown CA: %v, want the certificate refused with a --tls-ca hint", err)
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{"http://10.0.0.1:8000/mcp": "10.0.0.1:8000", "https://mm1.example.com/mcp": "mm1.example.com:443",
		"http://mm1/mcp": "mm1:80", "https://[::1]/mcp": "[::1]:443", "https://[::1]:8443/mcp": "[::1]:8443"} {
		if got := dialAddr(mustURL(t, in)); got != want {
			t.Errorf("dialAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
