package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bad input at the connection level, part of TestPlainPOST's battery.

// testPlainConnections: a body that does not arrive within --read-timeout
// is answered (401 without a token, 408 with one) and its connection
// closed; connections beyond --max-unauthenticated-conns get 429.
func testPlainConnections(t *testing.T, n *node) {
	for _, tc := range []struct {
		name, token string
		status      int
		says        string
	}{
		{"slow body without a token", "", http.StatusUnauthorized, "missing Authorization header"},
		{"slow body with a token", n.token, http.StatusRequestTimeout, "read timeout of 3s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialNode(t, n)
			auth := ""
			if tc.token != "" {
				auth = "Authorization: Bearer " + tc.token + "\r\n"
			}
			fmt.Fprintf(c, "POST /mcp/http HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", auth)
			r := readRaw(t, c)
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
				t.Errorf("answer %d %s, want %d saying %q", r.StatusCode, r.body, tc.status, tc.says)
			}
		})
	}
	t.Run("too many unauthenticated connections", func(t *testing.T) {
		conns := make([]net.Conn, 5) // the cap is 4 (fewer held if other connections of this test count)
		for i := range conns {
			conns[i] = dialNode(t, n)
		}
		answers := make([]rawReply, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() { answers[i] = readRawWithin(c, time.Second) })
		}
		wg.Wait()
		refused := 0
		for _, r := range answers {
			if r.StatusCode == 0 {
				continue // held: no answer
			}
			refused++
			if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "not authenticated (limit 4)") {
				t.Errorf("answer %d %s, want 429 naming the limit", r.StatusCode, r.body)
			}
		}
		if refused == 0 {
			t.Error("5 connections without a request were all held; the cap is 4")
		}
	})
}

func dialNode(t *testing.T, n *node) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawReply is an answer read off a raw connection; StatusCode 0 is none.
type rawReply struct {
	StatusCode int
	body       string
}

// readRaw reads one answer, waiting up to 20 s (far above the bounds).
func readRaw(t *testing.T, c net.Conn) rawReply {
	t.Helper()
	r := readRawWithin(c, 20*time.Second)
	if r.StatusCode == 0 {
		t.Fatal("no answer: the connection was kept open")
	}
	return r
}

func readRawWithin(c net.Conn, wait time.Duration) rawReply {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return rawReply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawReply{StatusCode: resp.StatusCode, body: string(b)}
}
