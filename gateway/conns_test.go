package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// refused reports whether the connection was answered 429 (naming the
// limit, with Retry-After) and closed. A held connection is not answered:
// refused waits a second for an answer, far more than a refusal takes.
func (c *rawConn) refused(t *testing.T) bool {
	t.Helper()
	r, err := c.refusal()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// refusal is refused for any goroutine: it returns the failure.
func (c *rawConn) refusal() (bool, error) {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	r, err := c.read()
	_ = c.SetReadDeadline(time.Time{})
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return false, nil // held: nothing was answered
	}
	if err != nil || r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
		!strings.Contains(string(r.body), "not authenticated (limit ") {
		return false, fmt.Errorf("refused connection: %d %q %v; want 429 with Retry-After naming the limit", r.code, r.body, err)
	}
	return true, c.awaitClose()
}

// classify counts the refused and the held connections of cs, at once.
func classify(t *testing.T, cs []*rawConn) (refusals int, held []*rawConn) {
	t.Helper()
	out, errs := make([]bool, len(cs)), make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { out[i], errs[i] = c.refusal() })
	}
	wg.Wait()
	for i, r := range out {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r {
			refusals++
		} else {
			held = append(held, cs[i])
		}
	}
	return refusals, held
}

func TestUnauthenticatedConnectionsCappedPerAddress(t *testing.T) {
	const limit = 4
	n := startNode(t, nodeOptions{conns: &ConnLimits{MaxUnauthenticated: limit}})
	authed := make([]*rawConn, 3*limit) // a load balancer's keep-alive connections, all with tokens
	for i := range authed {
		authed[i] = dialRaw(t, n)
		if r := authed[i].do(t, http.MethodGet, "/api/tools", n.admin); r.code != http.StatusOK {
			t.Fatalf("authenticated connection %d: %d %s", i, r.code, r.body)
		}
	}
	slow := make([]*rawConn, 2*limit) // slow bodies without a token
	for i := range slow {
		slow[i] = dialRaw(t, n)
		slow[i].head(t, http.MethodPost, "/mcp", "", 1000)
	}
	wait.For(t, 10*time.Second, func() bool { return value(n.gw.connCap.refused) == limit }, "waiting for the excess to be refused")
	refusals, held := classify(t, slow)
	if refusals != limit || len(held) != limit {
		t.Fatalf("%d refused, %d held; want %d and %d", refusals, len(held), limit, limit)
	}
	if c := dialRaw(t, n); !c.refused(t) {
		t.Error("a new connection at the cap was not refused")
	}
	for i, c := range authed {
		if r := c.do(t, http.MethodGet, "/api/tools", n.admin); r.code != http.StatusOK {
			t.Errorf("authenticated connection %d after the cap was reached: %d %s", i, r.code, r.body)
		}
	}
	_ = held[0].Close() // a slot frees up
	wait.For(t, 10*time.Second, func() bool { return !dialRaw(t, n).refused(t) }, "waiting for a new connection to be held")
}

func TestOnlyAuthenticationUncountsAConnection(t *testing.T) {
	n := startNode(t, nodeOptions{conns: &ConnLimits{MaxUnauthenticated: 2}})
	a, b := dialRaw(t, n), dialRaw(t, n)
	for _, path := range []string{"/health", "/ready", "/metrics"} {
		for _, c := range []*rawConn{a, b} {
			if r := c.do(t, http.MethodGet, path, ""); r.code != http.StatusOK {
				t.Fatalf("GET %s = %d", path, r.code)
			}
		}
	}
	if r := a.do(t, http.MethodGet, "/api/tools", "not-a-token"); r.code != http.StatusUnauthorized {
		t.Fatalf("bad token = %d", r.code)
	}
	if c := dialRaw(t, n); !c.refused(t) {
		t.Fatal("a third connection was not refused: /health, /ready, /metrics or a bad token uncounted one")
	}
	if r := a.do(t, http.MethodGet, "/api/tools", mint(t, testSecret, ScopeMCP)); r.code != http.StatusOK {
		t.Fatalf("GET /api/tools with an mcp token = %d", r.code)
	}
	if c := dialRaw(t, n); c.refused(t) {
		t.Fatal("a connection was refused after another one authenticated")
	}
}

// TestSlowBodyFloodIsBounded is the attack of issue 9 at small scale:
// connections that send headers without a token and then a body byte every
// 100 ms. The cap answers the excess at once; the ones it holds are cut at
// the read timeout; no body ever completes.
func TestSlowBodyFloodIsBounded(t *testing.T) {
	const limit, conns = 8, 200
	n := startNode(t, nodeOptions{conns: &ConnLimits{MaxUnauthenticated: limit, ReadTimeout: time.Second}})
	var wg sync.WaitGroup
	var completed, refusals atomic.Int32
	stop := make(chan struct{})
	peak := watchPeak(n, stop)
	for range conns {
		c := dialRaw(t, n)
		c.head(t, http.MethodPost, "/mcp", "", 1000)
		wg.Go(func() {
			whole := make(chan bool, 1)
			go func() { whole <- c.trickle(1000, 100*time.Millisecond) }()
			r, err := c.read()
			if err == nil && r.code == http.StatusTooManyRequests {
				refusals.Add(1)
			}
			if err := c.awaitClose(); err != nil {
				t.Error(err)
			}
			if <-whole {
				completed.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	if completed.Load() != 0 || refusals.Load() == 0 {
		t.Errorf("%d slow bodies completed, %d connections refused; want none and some", completed.Load(), refusals.Load())
	}
	p := <-peak
	if p > limit {
		t.Errorf("%v unauthenticated connections open at once, over the cap of %d", p, limit)
	}
	t.Logf("%d connections: %d refused at once, at most %v held at a time", conns, refusals.Load(), p)
}

// watchPeak samples the unauthenticated connections until stop, then
// sends the most it saw.
func watchPeak(n *testNode, stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		peak := 0.0
		for {
			peak = max(peak, value(n.gw.connCap.open))
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return out
}

// value is the current value of a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	_ = m.Write(&d)
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}
