package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestRingResultTooLarge: two real nodes; a's --max-result-bytes is 64KiB.
// b's echo of 100 KiB, forwarded, is result_too_large naming b, the bound
// and the flag (not peer_offline), counted in a's /metrics; b stays online
// and a goes on forwarding.
func TestRingResultTooLarge(t *testing.T) {
	b := startMeshNode(t, "gw-b")
	a := startMeshNode(t, "gw-a", "--max-result-bytes", "64KiB")
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, a).has("b__echo") }, "waiting for gw-a to list b__echo")

	res := ringCall(t, a, "b__echo", map[string]any{"text": strings.Repeat("x", 100<<10)})
	if !res.IsError || res.Meta["mcpmesh/error"] != "result_too_large" || res.Meta["mcpmesh/peer"] != "b" ||
		!strings.Contains(res.text(), `"b"`) || !strings.Contains(res.text(), "65536") || !strings.Contains(res.text(), "--max-result-bytes") {
		t.Fatalf("b__echo of 100 KiB through a: %.300s %v; want result_too_large naming b, 65536 and the flag", res.text(), res.Meta)
	}
	if got := ringCall(t, a, "b__echo", map[string]any{"text": "small"}); got.IsError || got.text() != "small" {
		t.Errorf("b__echo small after: %+v", got)
	}
	for _, p := range ringPeers(t, a) {
		if p.Name == "b" && p.Status != "online" {
			t.Errorf("peer b is %q after an oversized answer, want online", p.Status)
		}
	}
	metrics := string(a.do(t, http.MethodGet, "/metrics", nil, nil).body)
	for _, series := range []string{`mcpmesh_results_too_large_total{source="b"} 1`,
		`mcpmesh_forwarded_calls_total{method="tools/call",outcome="result_too_large",peer="b"} 1`} {
		if !strings.Contains(metrics, series) {
			t.Errorf("a's /metrics lacks %s", series)
		}
	}
}
