package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkForwardTraced compares a forwarded echo (b__echo on A, bare
// sessionless POSTs, 1 and 8 callers) between two rings of two nodes:
// "off" without tracing, "on" with --otlp-endpoint and every trace
// sampled, its spans (A's request and forward, B's handling) exported to
// an OTLP/HTTP receiver in this process that reads and drops them. The on
// side reports its ratios to the off side just measured (p50_ratio,
// p99_ratio, tput_ratio, cpu_ratio) and the spans received per call.
func BenchmarkForwardTraced(b *testing.B) {
	recv := newOTLPSink(b)
	offA, offB := benchTracedRing(b, "off", "")
	onA, onB := benchTracedRing(b, "on", recv.url)
	echo := benchTool{"echo", map[string]any{"text": "bench"}}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			off := benchTarget{"off", offA, "b__echo", []benchProc{{"a", offA.proc}, {"b", offB.proc}}}
			on := benchTarget{"on", onA, "b__echo", []benchProc{{"a", onA.proc}, {"b", onB.proc}}}
			benchPair(b, echo, "bare", c, off, on)
		})
	}
	b.ReportMetric(float64(recv.posts.Load()), "otlp_posts")
}

// benchTracedRing starts B (demo tools) and A, federated as "b", both
// sending spans to otlp ("" for none).
func benchTracedRing(b *testing.B, side, otlp string) (a, peer *node) {
	extra := []string{"--gossip", "127.0.0.1:0", "--log-level", "warn"}
	if otlp != "" {
		extra = append(extra, "--otlp-endpoint", otlp, "--otlp-sample-ratio", "1")
	}
	peer = startNode(b, nodeOptions{name: "trace-" + side + "-b", demo: true, extra: extra})
	a = startNode(b, nodeOptions{name: "trace-" + side + "-a", extra: extra})
	benchFederate(b, a, peer, "b", func() bool {
		r := a.rpc(b, "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}})
		var res callResult
		return r.Error == nil && json.Unmarshal(r.Result, &res) == nil && !res.IsError
	})
	return a, peer
}

// otlpSink is an OTLP/HTTP receiver that reads every export and drops it.
type otlpSink struct {
	url   string
	posts atomic.Int64
}

func newOTLPSink(b *testing.B) *otlpSink {
	s := &otlpSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.posts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}
