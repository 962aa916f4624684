package cluster

import "slices"

// CutGossip makes n send nothing to the gossip addresses addrs (packets
// dropped, streams refused); nil heals. Cutting both sides of a split
// partitions a ring in one process.
func CutGossip(n *Node, addrs []string) {
	if addrs == nil {
		n.wire.cutOff.Store(nil)
		return
	}
	f := func(addr string) bool { return slices.Contains(addrs, addr) }
	n.wire.cutOff.Store(&f)
}
