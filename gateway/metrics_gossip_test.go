package gateway

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestGossipMetrics: after a peer is added on a, both nodes' /metrics
// carry the gossip and registry families, with the write counted as local
// on a and as remote on b.
func TestGossipMetrics(t *testing.T) {
	a := startFedNode(t, "gw-a")
	b := startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", "full")
	wait.For(t, 10*time.Second, func() bool { return b.node.Stats().Registry.RemoteApplied >= 1 },
		"b did not merge a's registry write: %+v", wait.Later(func() any { return b.node.Stats().Registry }))
	wait.For(t, 10*time.Second, func() bool {
		return a.node.Stats().Gossip.PacketsReceived > 0 && b.node.Stats().Gossip.PacketsReceived > 0
	}, "no packets both ways: %+v, %+v", wait.Later(func() any { return a.node.Stats().Gossip }), wait.Later(func() any { return b.node.Stats().Gossip }))
	for _, tc := range []struct {
		node   *fedNode
		origin string
	}{{a, "local"}, {b, "remote"}} {
		t.Run(tc.node.name, func(t *testing.T) {
			fams := scrape(t, tc.node)
			checkPositive(t, fams, "mcpmesh_registry_writes_total", map[string]string{"origin": tc.origin})
			checkPositive(t, fams, "mcpmesh_gossip_packets_total", map[string]string{"direction": "sent"})
			checkPositive(t, fams, "mcpmesh_gossip_packets_total", map[string]string{"direction": "received"})
			checkPositive(t, fams, "mcpmesh_gossip_bytes_total", map[string]string{"transport": "udp", "direction": "received"})
			checkPositive(t, fams, "mcpmesh_gossip_bytes_total", map[string]string{"transport": "tcp", "direction": "sent"})
			for _, name := range []string{"mcpmesh_gossip_streams_total", "mcpmesh_registry_stale_records_total",
				"mcpmesh_registry_future_records_total", "mcpmesh_registry_merge_conflicts_total"} {
				if f := fams[name]; f == nil || f.GetType() != dto.MetricType_COUNTER {
					t.Errorf("%s: %v; want a counter family", name, f)
				}
			}
		})
	}
}

// scrape GETs n's /metrics and parses it.
func scrape(t *testing.T, n *fedNode) map[string]*dto.MetricFamily {
	t.Helper()
	r := n.do(t, http.MethodGet, "/metrics", "", "")
	if r.code != http.StatusOK {
		t.Fatalf("/metrics: %d", r.code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// checkPositive fails unless family name has a counter with labels whose
// value is above 0.
func checkPositive(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		if hasLabels(m, labels) {
			if v := m.GetCounter().GetValue(); v <= 0 {
				t.Errorf("%s %v = %v, want > 0", name, labels, v)
			}
			return
		}
	}
	t.Errorf("/metrics lacks %s %v", name, labels)
}

// hasLabels reports whether m carries every label of want.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}
