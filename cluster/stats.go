package cluster

import (
	"slices"
	"sync/atomic"
)

// maxLostTracked bounds how many conflicting records are remembered per
// own write (to count each once); more concurrent writers than that to one
// record are counted at each arrival.
const maxLostTracked = 8

// Stats are a node's counters since it started, for metrics. Every field
// only grows.
type Stats struct {
	Gossip   GossipStats
	Registry RegistryStats
}

// GossipStats count the node's gossip traffic (memberlist's UDP packets
// and TCP streams) as it crosses the wire: encrypted, label included.
type GossipStats struct {
	PacketsSent         uint64 // UDP packets sent
	PacketsReceived     uint64 // UDP packets received
	PacketBytesSent     uint64 // bytes of the packets sent
	PacketBytesReceived uint64 // bytes of the packets received
	StreamsOpened       uint64 // TCP streams dialled (push-pull, fallback probes, large messages)
	StreamsAccepted     uint64 // TCP streams accepted from other nodes
	StreamBytesSent     uint64 // bytes written to streams, both kinds
	StreamBytesReceived uint64 // bytes read from streams, both kinds
}

// RegistryStats count the writes and merges of the peer registry.
//
// Conflicts counts concurrent writes detected here: a record from the ring,
// written by another node, for a name whose current record is this node's
// own latest write, with a version after the one that write replaced and
// before its own. Then neither write saw the other (this node held the
// greatest version it had seen when it wrote; the other node's clock was
// past every version it had seen when it wrote), and the record loses the
// merge: its write is lost, last writer wins. Each such record is counted
// once. The other direction, another node's concurrent write beating this
// node's, is counted on that node, where this node's write arrives stale;
// so the sum over the ring is the number of writes lost to concurrent
// writes. A local write that loses at once, to a newer record merged while
// it was being made, counts too. Records of sequential edits (one node
// wrote after seeing the other's write) never count, whichever node wrote.
type RegistryStats struct {
	LocalWrites   uint64 // Add, Put, SetTrust and Delete calls that succeeded
	RemoteApplied uint64 // records from the ring that changed the registry
	RemoteStale   uint64 // records from the ring older than the one held, or expired tombstones: refused
	RemoteRefused uint64 // records from the ring dated beyond MaxClockSkew: refused
	Conflicts     uint64 // concurrent writes detected, as above
}

// Stats returns the node's counters. It is cheap (atomic loads).
func (n *Node) Stats() Stats {
	s := Stats{Registry: n.reg.Stats()}
	if n.wire != nil {
		s.Gossip = n.wire.c.stats()
	}
	return s
}

// stats loads the gossip counters.
func (c *gossipCounters) stats() GossipStats {
	return GossipStats{
		PacketsSent: c.packetsSent.Load(), PacketsReceived: c.packetsReceived.Load(),
		PacketBytesSent: c.packetBytesOut.Load(), PacketBytesReceived: c.packetBytesIn.Load(),
		StreamsOpened: c.streamsOpened.Load(), StreamsAccepted: c.streamsAccepted.Load(),
		StreamBytesSent: c.streamBytesOut.Load(), StreamBytesReceived: c.streamBytesIn.Load(),
	}
}

// registryCounters are the atomics behind RegistryStats.
type registryCounters struct {
	localWrites, applied, stale, refused, conflicts atomic.Uint64
}

// Stats returns the registry's counters (see RegistryStats).
func (r *Registry) Stats() RegistryStats {
	c := &r.counts
	return RegistryStats{
		LocalWrites: c.localWrites.Load(), RemoteApplied: c.applied.Load(),
		RemoteStale: c.stale.Load(), RemoteRefused: c.refused.Load(), Conflicts: c.conflicts.Load(),
	}
}

// ownWrite is this node's latest write of a name: the version it replaced
// (base) and the conflicting records already counted against it.
type ownWrite struct {
	base HLC
	lost []recordID
}

// recordID names one version of a record.
type recordID struct {
	version HLC
	writer  string
}

// noteLocalLocked records a local write of name that replaced base; a
// write that did not apply lost to a newer concurrent record. r.mu is held.
func (r *Registry) noteLocalLocked(name string, base HLC, applied bool) {
	r.counts.localWrites.Add(1)
	if !applied {
		r.counts.conflicts.Add(1)
		return
	}
	r.own[name] = &ownWrite{base: base}
}

// noteRemoteLocked counts a record from the ring that met cur (held before
// the merge, if had) and was applied or not. r.mu is held.
func (r *Registry) noteRemoteLocked(rec, cur PeerRecord, had, applied bool) {
	switch {
	case applied:
		r.counts.applied.Add(1)
		delete(r.own, rec.Name) // this node's write, if any, is superseded
	case had && !cur.same(rec):
		r.counts.stale.Add(1)
		r.noteConflictLocked(rec, cur)
	}
}

// noteConflictLocked counts rec, which lost to cur, if it is a concurrent
// write (see RegistryStats) not counted yet.
func (r *Registry) noteConflictLocked(rec, cur PeerRecord) {
	own, ok := r.own[rec.Name]
	if !ok || cur.Writer != r.self || rec.Writer == r.self || rec.Version.Compare(own.base) <= 0 {
		return
	}
	id := recordID{rec.Version, rec.Writer}
	if slices.Contains(own.lost, id) {
		return
	}
	if len(own.lost) < maxLostTracked {
		own.lost = append(own.lost, id)
	}
	r.counts.conflicts.Add(1)
}
