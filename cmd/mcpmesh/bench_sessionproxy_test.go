package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// BenchmarkSessionProxy compares a legacy session's tools/call of sleep
// {"ms":2} sent through a node that does not hold the session (it proxies
// the request to the session's node, gateway/sessionproxy.go) with the same
// call sent straight to the session's node, by go-sdk clients on 2025-11-25
// sessions (one per caller, reused) at 1 and 8 concurrent callers. Each
// session is opened on the owner; on the proxied side every request after
// initialize goes to the other node. The proxied side also reports its
// ratios to the direct side just measured (p50_ratio, p99_ratio,
// tput_ratio), and both the CPU time the two nodes used per call.
func BenchmarkSessionProxy(b *testing.B) {
	owner, entry := benchSessionRing(b)
	procs := []benchProc{{"owner", owner.proc}, {"entry", entry.proc}}
	tool := benchTool{"sleep", map[string]any{"ms": 2}}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			var base benchStats
			b.Run("direct", func(b *testing.B) {
				base = benchSessionCalls(b, owner, owner, tool, c, procs)
				base.report(b, "calls")
			})
			b.Run("proxied", func(b *testing.B) {
				s := benchSessionCalls(b, owner, entry, tool, c, procs)
				s.report(b, "calls")
				benchRatios(b, s, base)
			})
		})
	}
}

// benchSessionRing starts two demo nodes of one ring.
func benchSessionRing(b *testing.B) (owner, entry *node) {
	owner = benchNode(b, "bench-owner", true)
	entry = startNode(b, nodeOptions{name: "bench-entry", demo: true, extra: []string{"--gossip", "127.0.0.1:0",
		"--log-level", "warn", "--join", ringInfo(b, owner).GossipAddress}})
	wait.For(b, benchRingTimeout, func() bool { return slices.Contains(ringAlive(b, entry), owner.name) },
		"%s to see %s alive", entry.name, owner.name)
	return owner, entry
}

// benchSessionCalls makes b.N calls from c go-sdk sessions opened on owner,
// whose later requests go to via.
func benchSessionCalls(b *testing.B, owner, via *node, tool benchTool, c int, procs []benchProc) benchStats {
	hc := benchHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	hc.Transport = sessionsVia(b, via, hc.Transport)
	callers := make([]func() error, c)
	for i := range callers {
		cs := benchConnect(b, owner.mcpURL(), owner.token, hc, legacyVersion)
		callers[i] = benchToolCaller(cs, tool.name, tool.args)
	}
	for _, call := range callers { // warm every session and connection
		if err := call(); err != nil {
			b.Fatalf("warm-up call of %s via %s: %v", tool.name, via.name, err)
		}
	}
	before := benchCPUTimes(procs)
	s := benchRun(b, callers)
	after := benchCPUTimes(procs)
	if cpu := cpuDelta(before, after); cpu > 0 && s.calls > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(s.calls), "nodes_cpu_us/call")
	}
	return s
}

// sessionsVia sends every request that carries an Mcp-Session-Id (all but
// initialize) to via's address instead of the one it was made for.
func sessionsVia(b *testing.B, via *node, base http.RoundTripper) http.RoundTripper {
	u, err := url.Parse(via.url)
	if err != nil {
		b.Fatalf("node url %q: %v", via.url, err)
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Header.Get("Mcp-Session-Id") != "" {
			r = r.Clone(r.Context())
			r.URL.Host, r.Host = u.Host, u.Host
		}
		return base.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cpuDelta is the CPU time used between two benchCPUTimes readings (0 when
// one could not be read).
func cpuDelta(before, after []time.Duration) time.Duration {
	var sum time.Duration
	for i := range before {
		if before[i] < 0 || after[i] < 0 {
			return 0
		}
		sum += after[i] - before[i]
	}
	return sum
}
