package cluster

import "github.com/hashicorp/memberlist"

// conflictDelegate is the Node's memberlist.ConflictDelegate. memberlist
// refuses a known name at a new address until the old one has been dead
// for DeadNodeReclaimTime; this logs the conflict and remembers the new
// address, so the rejoin loop can reach the restarted node once the old
// incarnation may be reclaimed.
type conflictDelegate struct{ n *Node }

var _ memberlist.ConflictDelegate = (*conflictDelegate)(nil)

// NotifyConflict is called when other claims existing's name.
func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	d.n.log.Warn("member name conflict: another node claims a known name",
		"member", existing.Name, "known_addr", existing.Address(), "other_addr", other.Address())
	d.n.members.conflict(existing.Name, other.Address())
}
