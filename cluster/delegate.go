package cluster

import "github.com/hashicorp/memberlist"

// delegate is the Node's memberlist.Delegate: node meta, user messages
// (registry broadcasts), and push-pull state (the whole registry). Its
// methods run on memberlist's goroutines and never block: they take short
// in-memory locks and leave disk writes to the persister.
type delegate struct{ n *Node }

var _ memberlist.Delegate = (*delegate)(nil)

// NodeMeta returns the encoded meta; it is validated when set, so it always
// fits, but a smaller limit gets nothing rather than a panic.
func (d *delegate) NodeMeta(limit int) []byte {
	b := d.n.metaBytes()
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives one user message; the buffer is reused by memberlist,
// so nothing keeps it.
func (d *delegate) NotifyMsg(msg []byte) {
	if len(msg) > 0 && msg[0] == msgRefused {
		d.n.ident.receive(msg[1:])
		return
	}
	if len(msg) > 0 && msg[0] == msgRule {
		if len(msg) > maxMsgBytes {
			d.n.drops.warn("dropped a rule broadcast over the size limit", "bytes", len(msg))
			return
		}
		d.n.rules.receiveMsg(msg[1:])
		return
	}
	d.n.reg.receiveMsg(msg)
}

// GetBroadcasts hands memberlist the queued registry broadcasts.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.n.queue.GetBroadcasts(overhead, limit)
}

// LocalState is this node's side of a push-pull: the whole registry.
func (d *delegate) LocalState(join bool) []byte {
	return withRules(d.n.reg.localState(), d.n.rules.stateRecords())
}

// MergeRemoteState merges the other side's registry.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	d.n.reg.mergeRemoteState(buf)
	rules, err := stateRules(buf)
	if err != nil {
		d.n.drops.warn("dropped the rules of a push-pull state", "err", err)
		return
	}
	d.n.rules.mergeRemote(rules)
}
