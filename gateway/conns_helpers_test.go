package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn is one client connection written by hand, so a test knows which
// connection every request goes on.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, n *testNode) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", n.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{Conn: nc, br: bufio.NewReader(nc)}
}

// head writes a request's head; a body of size bytes is announced, not sent.
func (c *rawConn) head(t testing.TB, method, path, token string, size int) {
	t.Helper()
	var h strings.Builder
	fmt.Fprintf(&h, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n", method, path)
	if token != "" {
		fmt.Fprintf(&h, "Authorization: Bearer %s\r\n", token)
	}
	if size > 0 {
		fmt.Fprintf(&h, "Content-Length: %d\r\n", size)
	}
	if _, err := io.WriteString(c, h.String()+"\r\n"); err != nil {
		t.Fatalf("write request head: %v", err)
	}
}

// read reads one answer on the connection, its body included.
func (c *rawConn) read() (response, error) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: b}, err
}

// do sends a bodyless request on the connection and reads its answer.
func (c *rawConn) do(t testing.TB, method, path, token string) response {
	t.Helper()
	c.head(t, method, path, token, 0)
	r, err := c.read()
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// closedByServer waits (up to a guard far above any bound under test) for
// the server to close the connection, reading what it sends meanwhile.
func (c *rawConn) closedByServer(t testing.TB) {
	t.Helper()
	if err := c.awaitClose(); err != nil {
		t.Fatal(err)
	}
}

// awaitClose is closedByServer for any goroutine: it returns the failure.
func (c *rawConn) awaitClose() error {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("the server kept the connection open")
	}
	return nil
}

// trickle sends size body bytes, one every gap, until the server closes
// the connection; it reports whether the whole body went out.
func (c *rawConn) trickle(size int, gap time.Duration) bool {
	for range size {
		if _, err := c.Write([]byte("x")); err != nil {
			return false
		}
		time.Sleep(gap)
	}
	return true
}
