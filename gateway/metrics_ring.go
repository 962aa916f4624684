package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// ringCollector reports the ring and the federation at scrape time:
// members by state, peers by status and trust, tools each peer adds.
type ringCollector struct{ g *Gateway }

var (
	membersDesc = prometheus.NewDesc("mcpmesh_members",
		"Ring members this node knows, by gossip state.", []string{"state"}, nil)
	peersDesc = prometheus.NewDesc("mcpmesh_peers",
		"Peers by status (online, stale, suspect, offline, left) and trust level.", []string{"status", "trust"}, nil)
	peerToolsDesc = prometheus.NewDesc("mcpmesh_federated_tools",
		"Tools each linked peer adds to this node's listing.", []string{"peer"}, nil)
	registryDesc = prometheus.NewDesc("mcpmesh_registry_records",
		"Records of the replicated peer registry, tombstones included.", nil, nil)
	keysDesc = prometheus.NewDesc("mcpmesh_gossip_keys",
		"Keys in this node's gossip keyring (the primary and the others it opens gossip with).", nil, nil)
)

func (rc *ringCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{membersDesc, peersDesc, peerToolsDesc, registryDesc, keysDesc} {
		ch <- d
	}
}

func (rc *ringCollector) Collect(ch chan<- prometheus.Metric) {
	states := map[string]int{cluster.StateAlive: 0, cluster.StateSuspect: 0, cluster.StateDead: 0, cluster.StateLeft: 0}
	for _, m := range rc.g.node.Members() {
		states[m.State]++
	}
	for s, n := range states {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(n), s)
	}
	peers := map[[2]string]int{}
	for _, v := range rc.g.fed.Peers() {
		peers[[2]string{v.Status, v.TrustLevel}]++
		ch <- prometheus.MustNewConstMetric(peerToolsDesc, prometheus.GaugeValue, float64(v.Tools), v.Name)
	}
	for k, n := range peers {
		ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(registryDesc, prometheus.GaugeValue, float64(len(rc.g.node.Registry().All())))
	if kr, err := rc.g.node.Keyring(); err == nil {
		ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(len(kr.Keys)))
	}
}

// fedMetrics are the federation engine's metrics (federation.Metrics):
// forwarded calls, ring events and catalog pulls, and what the byte bounds
// cut of peers' answers.
type fedMetrics struct {
	fwd    *forwardMetrics
	bounds *boundMetrics
	svc    *serviceMetrics // metrics_services.go
}

func (m fedMetrics) RingEvent(event string)    { m.fwd.event(event) }
func (m fedMetrics) CatalogPulled(peer string) { m.fwd.pulled(peer) }
func (m fedMetrics) Forwarded(peer, method, outcome string, d time.Duration) {
	m.fwd.observe(peer, method, outcome, d)
}
func (m fedMetrics) CatalogCut(source, reason string) { m.bounds.cut(source, reason) }
func (m fedMetrics) ResultTooLarge(source string)     { m.bounds.over(source) }

// forwardMetrics count and time the calls this node forwards to peers, and
// count the ring's events and the catalog pulls of peer links.
type forwardMetrics struct {
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	events  *prometheus.CounterVec
	pulls   *prometheus.CounterVec
}

func newForwardMetrics(reg *prometheus.Registry) *forwardMetrics {
	m := &forwardMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_forwarded_calls_total",
			Help: "Requests forwarded to peers, by peer, method and outcome (ok, tool_error, error, peer_offline, peer_timeout, peer_not_trusted, result_too_large).",
		}, []string{"peer", "method", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpmesh_forwarded_call_duration_seconds", Help: "Latency of requests forwarded to peers, by peer and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"peer", "outcome"}),
	}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpmesh_ring_events_total",
		Help: "Ring events seen: member-join, member-failed (failure detections), member-left, member-suspect, member-reaped, registry-changed (registry writes and merges), rules-changed (access rule writes and merges).",
	}, []string{"event"})
	m.pulls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpmesh_catalog_pulls_total", Help: "Times a peer's catalog was (re)listed through its link, by peer.",
	}, []string{"peer"})
	reg.MustRegister(m.calls, m.latency, m.events, m.pulls)
	return m
}

func (m *forwardMetrics) event(name string) {
	if m != nil {
		m.events.WithLabelValues(name).Inc()
	}
}

func (m *forwardMetrics) pulled(peer string) {
	if m != nil {
		m.pulls.WithLabelValues(peer).Inc()
	}
}

func (m *forwardMetrics) observe(peer, method, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(peer, method, outcome).Inc()
	m.latency.WithLabelValues(peer, outcome).Observe(d.Seconds())
}
