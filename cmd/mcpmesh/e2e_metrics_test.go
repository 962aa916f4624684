package main

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsFamilies is one parsed scrape of /metrics, by family name.
type metricsFamilies map[string]*dto.MetricFamily

// metricWant is a family that must be in a scrape: the sum of its samples
// carrying labels (every sample when nil) must be at least min.
type metricWant struct {
	name   string
	labels map[string]string
	min    float64
}

// TestE2EMetrics runs three real nodes, makes m2 a trusted peer of m1,
// forwards one call through it and kills m3 with SIGKILL; then m1's
// /metrics must show every family the issue names, with sensible values,
// and m2's the registry write merged from m1.
func TestE2EMetrics(t *testing.T) {
	m1 := startMeshNode(t, "m1")
	gossip := ringInfo(t, m1).GossipAddress
	m2 := startMeshNode(t, "m2", "--join", gossip)
	m3 := startMeshNode(t, "m3", "--join", gossip)
	wait.For(t, ringTimeout, func() bool { return len(ringAlive(t, m1)) == 3 }, "waiting for m1 to see three members alive")
	ringAddPeer(t, m1, m2.url, "peer-2", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, m1).has("peer-2__whoami") }, "waiting for m1 to list peer-2's tools")
	if res := ringCall(t, m1, "peer-2__whoami", map[string]any{}); res.IsError || res.text() != "m2" {
		t.Fatalf("peer-2__whoami on m1: isError %v, text %q; want m2", res.IsError, res.text())
	}
	if err := m3.proc.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 m3: %v", err)
	}
	<-m3.proc.done
	dead := []metricWant{
		{"mcpmesh_members", map[string]string{"state": "dead"}, 1},
		{"mcpmesh_ring_events_total", map[string]string{"event": "member-failed"}, 1},
	}
	var fams metricsFamilies
	wait.For(t, ringTimeout, func() bool {
		fams = metricsScrape(t, m1)
		return metricsUnmet(fams, dead) == nil
	}, "waiting for m1's metrics to count m3 dead")
	t.Run("m1", func(t *testing.T) { metricsCheck(t, fams, m1Wants) })
	t.Run("m2", func(t *testing.T) {
		wait.For(t, ringTimeout, func() bool {
			return metricsUnmet(metricsScrape(t, m2), m2Wants) == nil
		}, "waiting for m2's metrics to count the merged registry write")
	})
}

// m1Wants are the families of the forwarding node's scrape, after the
// call and the kill.
var m1Wants = []metricWant{
	{"mcpmesh_members", map[string]string{"state": "dead"}, 1},
	{"mcpmesh_members", map[string]string{"state": "alive"}, 2},
	{"mcpmesh_peers", map[string]string{"status": "online", "trust": "full"}, 1},
	{"mcpmesh_federated_tools", map[string]string{"peer": "peer-2"}, 1},
	{"mcpmesh_tools", map[string]string{"source": "peer-2"}, 1},
	{"mcpmesh_gossip_keys", nil, 1},
	{"mcpmesh_forwarded_calls_total", map[string]string{"peer": "peer-2", "method": "tools/call", "outcome": "ok"}, 1},
	{"mcpmesh_forwarded_call_duration_seconds", map[string]string{"peer": "peer-2", "outcome": "ok"}, 1},
	{"mcpmesh_catalog_pulls_total", map[string]string{"peer": "peer-2"}, 1},
	{"mcpmesh_registry_writes_total", map[string]string{"origin": "local"}, 1},
	{"mcpmesh_registry_merge_conflicts_total", nil, 0},
	{"mcpmesh_registry_stale_records_total", nil, 0},
	{"mcpmesh_gossip_packets_total", map[string]string{"direction": "sent"}, 1},
	{"mcpmesh_gossip_packets_total", map[string]string{"direction": "received"}, 1},
	{"mcpmesh_gossip_bytes_total", map[string]string{"transport": "udp", "direction": "sent"}, 1},
	{"mcpmesh_gossip_bytes_total", map[string]string{"transport": "udp", "direction": "received"}, 1},
	{"mcpmesh_gossip_bytes_total", map[string]string{"transport": "tcp"}, 1},
	{"mcpmesh_gossip_streams_total", nil, 1},
	{"mcpmesh_ring_events_total", map[string]string{"event": "member-failed"}, 1},
	{"go_goroutines", nil, 1},
}

// m2Wants: the peer record written on m1 was merged on m2.
var m2Wants = []metricWant{
	{"mcpmesh_registry_writes_total", map[string]string{"origin": "remote"}, 1},
	{"mcpmesh_gossip_packets_total", map[string]string{"direction": "received"}, 1},
}

// String is the want as a selector, name{k="v",...}, labels sorted.
func (w metricWant) String() string {
	var parts []string
	for k, v := range w.labels {
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(parts)
	return w.name + "{" + strings.Join(parts, ",") + "}"
}

// metricsCheck fails the test for every want the scrape does not meet.
func metricsCheck(t *testing.T, fams metricsFamilies, wants []metricWant) {
	t.Helper()
	for _, w := range wants {
		t.Run(w.String(), func(t *testing.T) {
			if err := metricsMeets(fams, w); err != nil {
				t.Error(err)
			}
		})
	}
}

// metricsUnmet returns the first want the scrape does not meet, or nil.
func metricsUnmet(fams metricsFamilies, wants []metricWant) error {
	for _, w := range wants {
		if err := metricsMeets(fams, w); err != nil {
			return err
		}
	}
	return nil
}

// metricsMeets checks one want against the scrape.
func metricsMeets(fams metricsFamilies, w metricWant) error {
	f := fams[w.name]
	if f == nil {
		return fmt.Errorf("/metrics has no family %s", w.name)
	}
	sum, n := 0.0, 0
	for _, m := range f.GetMetric() {
		if metricsHasLabels(m, w.labels) {
			sum += metricsValue(m)
			n++
		}
	}
	if n == 0 || sum < w.min {
		return fmt.Errorf("%s: %d samples summing to %v; want at least one, summing to >= %v", w, n, sum, w.min)
	}
	return nil
}

// metricsValue is a sample's value: a histogram's or summary's count.
func metricsValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// metricsHasLabels reports whether m carries every label of want.
func metricsHasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			found++
		}
	}
	return found == len(want)
}

// metricsScrape GETs n's /metrics without a token and parses it.
func metricsScrape(t testing.TB, n *node) metricsFamilies {
	t.Helper()
	r := n.do(t, http.MethodGet, "/metrics", nil, map[string]string{"Authorization": ""})
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics on %s: status %d, body %.300s", n.name, r.status, r.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics of %s: %v", n.name, err)
	}
	return fams
}
