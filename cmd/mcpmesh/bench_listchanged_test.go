package main

import (
	"net/http"
	"testing"
	"time"
)

// listChangedSteps are the changes BenchmarkRingListChanged times, in the
// order of one op.
var listChangedSteps = []string{"upstream_add", "upstream_remove", "trust_none", "trust_full", "leave", "kill"}

// BenchmarkRingListChanged: on a ring of three real processes (A with peers
// b and c at trust full), how long after a change a go-sdk client on A
// speaking 2026-07-28 (its subscriptions/listen stream) and a go-sdk
// 2025-11-25 session on A have both heard tools/list_changed (the last of
// the two; each then lists the change). Per op: an HTTP upstream added on
// C over C's REST API and removed (from the request's start), A's trust in
// C set to none and back to full (from the PATCH's start), C stopped with
// SIGTERM and, once restarted, killed with SIGKILL (from the signal); C's
// restarts are not timed. Each change reports <step>_ms (mean) and
// <step>_worst_ms; the contract's goal is 2 s.
func BenchmarkRingListChanged(b *testing.B) {
	r := startListRing(b)
	a := r.a
	legacy := sdkWatch(b, "go-sdk 2025-11-25 session on /mcp", a.mcpURL(), a.token, legacyVersion)
	r.seeC[sdkWatch2026(b, "go-sdk 2026-07-28 on /mcp", a.mcpURL(), a.token)] = "c__"
	r.seeC[legacy] = "c__"
	upstream := startEverythingHTTP(b)
	sum, worst := map[string]time.Duration{}, map[string]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for name, d := range r.benchOp(b, upstream) {
			sum[name] += d
			worst[name] = max(worst[name], d)
		}
	}
	for _, name := range listChangedSteps {
		b.ReportMetric(float64(sum[name].Microseconds())/1e3/float64(b.N), name+"_ms")
		b.ReportMetric(float64(worst[name].Microseconds())/1e3, name+"_worst_ms")
	}
	b.ReportMetric(0, "ns/op")
}

// benchOp makes every change of one op and returns how long each took to
// be heard.
func (r *listRing) benchOp(b *testing.B, upstream string) map[string]time.Duration {
	out := map[string]time.Duration{}
	entry := mustJSON(map[string]any{"name": "ev", "url": upstream, "prefix": "ev"})
	out["upstream_add"] = r.expect(b, cState{whoami: true, ev: true}, func() {
		r.mustDo(b, r.c, http.MethodPost, "/api/servers", entry, http.StatusCreated)
	})
	out["upstream_remove"] = r.expect(b, cState{whoami: true}, func() {
		r.mustDo(b, r.c, http.MethodDelete, "/api/servers/ev", nil, http.StatusNoContent)
	})
	out["trust_none"] = r.expect(b, cState{}, func() { r.setTrust(b, "none") })
	out["trust_full"] = r.expect(b, cState{whoami: true}, func() { r.setTrust(b, "full") })
	out["leave"] = r.expect(b, cState{}, r.c.proc.stop)
	b.StopTimer()
	r.expect(b, cState{whoami: true}, func() { r.restartC(b) })
	b.StartTimer()
	out["kill"] = r.expect(b, cState{}, r.killC)
	b.StopTimer()
	r.expect(b, cState{whoami: true}, func() { r.restartC(b) })
	b.StartTimer()
	return out
}

// mustDo sends a request to n and fails unless it answers want.
func (r *listRing) mustDo(tb testing.TB, n *node, method, path string, body []byte, want int) {
	tb.Helper()
	if res := n.do(tb, method, path, body, nil); res.status != want {
		tb.Fatalf("%s %s on %s: status %d, body %s; want %d", method, path, n.name, res.status, res.body, want)
	}
}
