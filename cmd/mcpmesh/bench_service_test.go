package main

import (
	"bufio"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// benchSvcArgs are the arguments of the service benchmarks' calls: the
// svcupstream's read, sleeping 2 ms.
var benchSvcArgs = map[string]any{"id": "bench", "ms": 2}

// benchSvcNode starts a node of the service benchmarks (auto-trusting the
// ring); servers are its upstreams of testdata/svcupstream, by entry name,
// each with "service" or "prefix" as given.
func benchSvcNode(b *testing.B, name string, servers map[string]serverEntry, extra ...string) *node {
	dir := b.TempDir()
	for k, e := range servers {
		e.Command = buildSvcUpstream(b)
		e.Env = map[string]string{"COUNT_FILE": filepath.Join(dir, k), "NODE": name}
		servers[k] = e
	}
	args := append([]string{"--gossip", "127.0.0.1:0", "--auto-trust", "full", "--log-level", "warn"}, extra...)
	return startNode(b, nodeOptions{name: name, servers: servers, demo: len(servers) == 0, extra: args})
}

// benchSvcRing starts a caller (no upstreams) and two providers of
// service "svc"; the first provider also runs the same upstream under
// the prefix "plain" (its tool is <p1>__plain__read on the caller). It
// waits until the caller lists the service with both providers.
func benchSvcRing(b *testing.B, callerFlags ...string) (caller, p1, p2 *node) {
	p1 = benchSvcNode(b, "sb-p1", map[string]serverEntry{"svcup": {Service: "svc"}, "plain": {Prefix: "plain"}})
	join := ringInfo(b, p1).GossipAddress
	p2 = benchSvcNode(b, "sb-p2", map[string]serverEntry{"svcup": {Service: "svc"}}, "--join", join)
	caller = benchSvcNode(b, "sb-a", nil, append([]string{"--join", join}, callerFlags...)...)
	wait.For(b, benchRingTimeout, func() bool {
		r := callSvc(caller, "svc__read", "warm", 0)
		l := callSvc(caller, "sb-p1__plain__read", "warm", 0)
		tool, ok := findTool(ringList(b, caller), "svc__read")
		return r.failed == "" && l.failed == "" && ok && fmt.Sprint(tool.Meta["mcpmesh/providers"]) == "[sb-p1 sb-p2]"
	}, "the caller to list svc__read served by both providers and to reach sb-p1__plain__read")
	return caller, p1, p2
}

// BenchmarkService compares a call of a service with providers on two
// other nodes (svc__read on the caller) with a call of one peer's tool
// through one hop (sb-p1__plain__read: the same upstream on the first
// provider), by bare sessionless POSTs at 1 and 8 concurrent callers; the
// service side reports its ratios to the peer side just measured
// (tput_ratio: the goal is at least 0.95).
func BenchmarkService(b *testing.B) {
	caller, p1, p2 := benchSvcRing(b)
	procs := []benchProc{{"a", caller.proc}, {"p1", p1.proc}, {"p2", p2.proc}}
	tool := benchTool{"read", benchSvcArgs}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			benchPair(b, tool, "bare", c, benchTarget{"peer", caller, "sb-p1__plain__read", procs},
				benchTarget{"service", caller, "svc__read", procs})
		})
	}
}

// BenchmarkServiceFailover measures, per op on a fresh ring, what 4
// callers of the read-only svc__read (2 ms) on the caller see when one
// provider goes away under load: "kill" (SIGKILL: its port refuses) and
// "stop" (SIGSTOP: a silent node, caught by gossip's failure detection;
// the caller runs --peer-timeout 3s). It reports the calls that failed
// (failed_calls, the goal 0), the calls made (calls), the time from the
// signal until the provider was last chosen (last_chosen_ms: its attempts,
// finished or in flight, stop growing in the caller's /metrics, read
// every 10 ms; 0: not chosen after it), the failovers away from it
// (failovers) and the slowest call (slowest_call_ms, of the last op).
func BenchmarkServiceFailover(b *testing.B) {
	for _, v := range []struct {
		name  string
		sig   syscall.Signal
		after time.Duration
	}{{"kill", syscall.SIGKILL, 3 * time.Second}, {"stop", syscall.SIGSTOP, 6 * time.Second}} {
		b.Run(v.name, func(b *testing.B) {
			var failed, calls, failovers int
			var chosen time.Duration
			for range b.N {
				f, n, last, fo := benchFailoverOnce(b, v.sig, v.after)
				failed, calls, failovers, chosen = failed+f, calls+n, failovers+fo, max(chosen, last)
			}
			b.ReportMetric(float64(failed)/float64(b.N), "failed_calls")
			b.ReportMetric(float64(calls)/float64(b.N), "calls")
			b.ReportMetric(float64(chosen.Milliseconds()), "last_chosen_ms")
			b.ReportMetric(float64(failovers)/float64(b.N), "failovers")
		})
	}
}

// benchFailoverOnce runs one ring: 1 s of load, the signal to sb-p2, after
// more of it; it returns the failed and made calls, when sb-p2 was last
// chosen after the signal, and the failovers away from it.
func benchFailoverOnce(b *testing.B, sig syscall.Signal, after time.Duration) (failed, calls int, last time.Duration, failovers int) {
	b.StopTimer()
	caller, _, p2 := benchSvcRing(b, "--peer-timeout", "3s")
	b.StartTimer()
	var stop atomic.Bool
	var nFailed, nCalls, worst atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				t0 := time.Now()
				if r := callSvc(caller, "svc__read", "load", 2); r.failed != "" {
					nFailed.Add(1)
				}
				nCalls.Add(1)
				storeMax(&worst, int64(time.Since(t0)))
			}
		})
	}
	time.Sleep(time.Second) // load before the signal
	before, _ := benchSvcCounts(caller, "sb-p2")
	start := time.Now()
	if err := p2.proc.cmd.Process.Signal(sig); err != nil {
		b.Fatal(err)
	}
	last = benchWatchChosen(caller, "sb-p2", before, start, after)
	stop.Store(true)
	wg.Wait()
	if sig == syscall.SIGSTOP {
		_ = p2.proc.cmd.Process.Signal(syscall.SIGCONT) // so that it can be stopped cleanly
	}
	_, fo := benchSvcCounts(caller, "sb-p2")
	b.ReportMetric(float64(time.Duration(worst.Load()).Milliseconds()), "slowest_call_ms")
	return int(nFailed.Load()), int(nCalls.Load()), last, fo
}

// benchWatchChosen reads the caller's metrics every 10 ms for d and
// returns when provider's attempts (finished or in flight) last grew past
// prev, the count just before start (0: never).
func benchWatchChosen(caller *node, provider string, prev int, start time.Time, d time.Duration) time.Duration {
	var last time.Duration
	for time.Since(start) < d {
		time.Sleep(10 * time.Millisecond)
		n, _ := benchSvcCounts(caller, provider)
		if n > prev {
			prev, last = n, time.Since(start)
		}
	}
	return last
}

// benchSvcCounts reads the caller's /metrics: the attempts on provider
// (finished, any outcome, plus in flight) and the failovers away from it.
func benchSvcCounts(caller *node, provider string) (attempts, failovers int) {
	resp, err := http.Get(caller.url + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	label := `provider="` + provider + `"`
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, label) {
			continue
		}
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		switch {
		case strings.HasPrefix(line, "mcpmesh_service_calls_total{"), strings.HasPrefix(line, "mcpmesh_service_calls_in_flight{"):
			attempts += int(v)
		case strings.HasPrefix(line, "mcpmesh_service_failovers_total{"):
			failovers += int(v)
		}
	}
	return attempts, failovers
}

// storeMax raises v to d if d is larger.
func storeMax(v *atomic.Int64, d int64) {
	for cur := v.Load(); d > cur && !v.CompareAndSwap(cur, d); cur = v.Load() {
	}
}
