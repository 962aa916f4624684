package cluster

import "github.com/hashicorp/memberlist"

// eventDelegate is the Node's memberlist.EventDelegate. memberlist calls it
// with its node lock held, one call at a time: it only updates the member
// table and queues events.
type eventDelegate struct{ n *Node }

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

// NotifyJoin is called when a member joins or comes back.
func (d *eventDelegate) NotifyJoin(node *memberlist.Node) {
	meta, leaving := d.n.decodeMeta(node)
	d.n.emit(d.n.members.alive(node, meta, leaving))
}

// NotifyUpdate is called when a member's meta (or address) changes.
func (d *eventDelegate) NotifyUpdate(node *memberlist.Node) {
	meta, leaving := d.n.decodeMeta(node)
	d.n.emit(d.n.members.alive(node, meta, leaving))
}

// NotifyLeave is called when a member is declared dead or has left; the
// leaving flag of its last meta tells which.
func (d *eventDelegate) NotifyLeave(node *memberlist.Node) {
	_, leaving := d.n.decodeMeta(node)
	d.n.emit(d.n.members.down(node, leaving))
}
