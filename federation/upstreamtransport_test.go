package federation

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// nextRT counts the requests that reach it and answers 204.
type nextRT struct{ n int }

func (rt *nextRT) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.n++
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
}

// TestUpstreamTransport: a plain-http upstream is reached inline, each
// request written once (a pooled connection lost after the write is an
// error, as net/http gives for a POST, never a second send); a connection
// the upstream closed while idle is replaced before the write; https
// upstreams, and all once the engine closed, go to the next transport.
func TestUpstreamTransport(t *testing.T) {
	tests := []struct {
		name       string
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
			next := &nextRT{}
			rt := &upstreamTransport{inline: testPoster(t), next: next}
			if err := upstreamPost(t, rt, "http://"+addr+"/mcp"); err != nil {
				t.Fatalf("first post: %v", err)
			}
			if tt.closeIdle {
				<-idleClosed
			}
			err := upstreamPost(t, rt, "http://"+addr+"/mcp")
			if (err != nil) != tt.wantErr || served.Load() != tt.wantServed || next.n != 0 {
				t.Fatalf("second post: error %v, the upstream read %d requests, net/http sent %d; want error %v, %d read, none by net/http",
					err, served.Load(), next.n, tt.wantErr, tt.wantServed)
			}
		})
	}
	for _, tt := range []struct {
		name, url string
		closed    bool
	}{
		{"https goes to the next transport", "https://127.0.0.1:1/mcp", false},
		{"after the engine closed, the next transport", "http://127.0.0.1:1/mcp", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, p := &nextRT{}, testPoster(t)
			if tt.closed {
				p.close()
			}
			if err := upstreamPost(t, &upstreamTransport{inline: p, next: next}, tt.url); err != nil || next.n != 1 {
				t.Fatalf("post: %v, %d sent by the next transport; want 1", err, next.n)
			}
		})
	}
}

// upstreamPost POSTs {} to url through rt and reads the answer whole.
func upstreamPost(t *testing.T, rt http.RoundTripper, url string) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// TestUpstreamTransportClosesItsIdleConnections: an upstream's transport,
// closed, closes the idle inline connections to the hosts it reached and
// leaves other upstreams' in the shared pool.
func TestUpstreamTransportClosesItsIdleConnections(t *testing.T) {
	p := testPoster(t)
	mine, other := &upstreamTransport{inline: p, next: &nextRT{}}, &upstreamTransport{inline: p, next: &nextRT{}}
	addrs := make([]string, 2)
	for i, rt := range []*upstreamTransport{mine, other} {
		addr, _, _ := onceServer(t, false)
		addrs[i] = "http://" + addr
		if err := upstreamPost(t, rt, addrs[i]+"/mcp"); err != nil {
			t.Fatalf("post: %v", err)
		}
	}
	mine.CloseIdleConnections()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[addrs[0]]) != 0 || len(p.idle[addrs[1]]) != 1 {
		t.Fatalf("idle after the close: %d to the closed upstream's host, %d to the other's; want 0 and 1", len(p.idle[addrs[0]]), len(p.idle[addrs[1]]))
	}
}
