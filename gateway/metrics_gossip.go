package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// statsCollector reports the ring node's counters (cluster.Node.Stats) at
// scrape time: gossip traffic, and the registry's writes and merges.
type statsCollector struct{ node *cluster.Node }

var (
	gossipPacketsDesc = prometheus.NewDesc("mcpmesh_gossip_packets_total",
		"Gossip UDP packets, by direction (sent, received).", []string{"direction"}, nil)
	gossipBytesDesc = prometheus.NewDesc("mcpmesh_gossip_bytes_total",
		"Gossip bytes on the wire (encrypted), by transport (udp packets, tcp streams) and direction (sent, received).",
		[]string{"transport", "direction"}, nil)
	gossipStreamsDesc = prometheus.NewDesc("mcpmesh_gossip_streams_total",
		"Gossip TCP streams (push-pull, fallback probes), by direction (opened by this node, accepted from others).",
		[]string{"direction"}, nil)
	registryWritesDesc = prometheus.NewDesc("mcpmesh_registry_writes_total",
		"Writes to the peer registry, by origin: local (add, update, set-trust, remove on this node) or remote (records from the ring that changed it).",
		[]string{"origin"}, nil)
	registryStaleDesc = prometheus.NewDesc("mcpmesh_registry_stale_records_total",
		"Records from the ring refused as older than the version held (or expired tombstones).", nil, nil)
	registryRefusedDesc = prometheus.NewDesc("mcpmesh_registry_future_records_total",
		"Records from the ring refused as dated further in the future than the allowed clock skew.", nil, nil)
	registryConflictsDesc = prometheus.NewDesc("mcpmesh_registry_merge_conflicts_total",
		"Concurrent writes of one peer record on two nodes detected here, each losing a write (last writer wins); summed over the ring, the writes lost.",
		nil, nil)
)

func (sc *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{gossipPacketsDesc, gossipBytesDesc, gossipStreamsDesc,
		registryWritesDesc, registryStaleDesc, registryRefusedDesc, registryConflictsDesc} {
		ch <- d
	}
}

func (sc *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := sc.node.Stats()
	collectGossip(ch, s.Gossip)
	collectRegistry(ch, s.Registry)
}

// sendCounter sends one counter sample.
func sendCounter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func collectGossip(ch chan<- prometheus.Metric, g cluster.GossipStats) {
	sendCounter(ch, gossipPacketsDesc, g.PacketsSent, "sent")
	sendCounter(ch, gossipPacketsDesc, g.PacketsReceived, "received")
	sendCounter(ch, gossipBytesDesc, g.PacketBytesSent, "udp", "sent")
	sendCounter(ch, gossipBytesDesc, g.PacketBytesReceived, "udp", "received")
	sendCounter(ch, gossipBytesDesc, g.StreamBytesSent, "tcp", "sent")
	sendCounter(ch, gossipBytesDesc, g.StreamBytesReceived, "tcp", "received")
	sendCounter(ch, gossipStreamsDesc, g.StreamsOpened, "opened")
	sendCounter(ch, gossipStreamsDesc, g.StreamsAccepted, "accepted")
}

func collectRegistry(ch chan<- prometheus.Metric, r cluster.RegistryStats) {
	sendCounter(ch, registryWritesDesc, r.LocalWrites, "local")
	sendCounter(ch, registryWritesDesc, r.RemoteApplied, "remote")
	sendCounter(ch, registryStaleDesc, r.RemoteStale)
	sendCounter(ch, registryRefusedDesc, r.RemoteRefused)
	sendCounter(ch, registryConflictsDesc, r.Conflicts)
}
