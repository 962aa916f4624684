package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Benchmarks of the ring through real processes (`make bench`): forwarded
// calls against direct ones, a federated tools/list against a local one,
// and failure detection after kill -9. They report figures with
// b.ReportMetric; nothing here asserts on timing.

// benchRingTimeout bounds every wait for the ring to settle.
const benchRingTimeout = 30 * time.Second

// benchNode starts a node whose gossip port is picked by the system, so
// nodes started together never collide on PORT+1000.
func benchNode(b testing.TB, name string, demo bool) *node {
	b.Helper()
	return startNode(b, nodeOptions{name: name, demo: demo, extra: []string{"--gossip", "127.0.0.1:0", "--log-level", "warn"}})
}

// benchFederate adds peer to a under name (trust full) and waits until ready
// holds.
func benchFederate(b testing.TB, a, peer *node, name string, ready func() bool) {
	b.Helper()
	body := mustJSON(map[string]any{"url": peer.url, "name": name, "trust_level": "full"})
	if r := a.do(b, http.MethodPost, "/api/federation/peers", body, nil); r.status != http.StatusCreated {
		b.Fatalf("POST %s/api/federation/peers %s: status %d, body %s; want 201", a.url, body, r.status, r.body)
	}
	wait.For(b, benchRingTimeout, ready, "waiting for %s federating %s", a.name, peer.name)
}

// benchHTTPClient is a plain HTTP client that keeps enough idle
// connections for every concurrent caller of a benchmark.
func benchHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// benchStats are the figures of one measured run.
type benchStats struct {
	lat   []time.Duration // sorted
	calls int
	wall  time.Duration
}

func (s benchStats) p(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(float64(len(s.lat))*q))]
}

func (s benchStats) rate() float64 {
	if s.wall <= 0 {
		return 0
	}
	return float64(s.calls) / s.wall.Seconds()
}

// report writes p50_us, p99_us and calls/s.
func (s benchStats) report(b *testing.B, unit string) {
	b.ReportMetric(float64(s.p(0.50).Nanoseconds())/1e3, "p50_us")
	b.ReportMetric(float64(s.p(0.99).Nanoseconds())/1e3, "p99_us")
	b.ReportMetric(s.rate(), unit+"/s")
}

// benchRatios writes s over base: p50 and throughput ratios.
func benchRatios(b *testing.B, s, base benchStats) {
	if base.calls == 0 || base.p(0.5) == 0 || base.rate() == 0 {
		return
	}
	b.ReportMetric(float64(s.p(0.5))/float64(base.p(0.5)), "p50_ratio")
	b.ReportMetric(float64(s.p(0.99))/float64(base.p(0.99)), "p99_ratio")
	b.ReportMetric(s.rate()/base.rate(), "tput_ratio")
}

// benchRun makes b.N calls spread over len(callers) goroutines, each
// caller making its calls one after another, and times every call.
func benchRun(b *testing.B, callers []func() error) benchStats {
	var next atomic.Int64
	lats := make([][]time.Duration, len(callers))
	errs := make([]error, len(callers))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, call := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats[i], errs[i] = benchLoop(b.N, &next, call)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	return benchStats{lat: all, calls: len(all), wall: wall}
}

func benchLoop(n int, next *atomic.Int64, call func() error) ([]time.Duration, error) {
	var lat []time.Duration
	for next.Add(1) <= int64(n) {
		start := time.Now()
		if err := call(); err != nil {
			return lat, fmt.Errorf("call %d: %w", len(lat)+1, err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}
