package cluster

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// aliveDelegate is the Node's memberlist.AliveDelegate: it refuses an alive
// message claiming a known member's name with another node id. memberlist
// calls it with its node lock held: it reads the member table and queues
// the notice, nothing more.
type aliveDelegate struct{ n *Node }

var _ memberlist.AliveDelegate = (*aliveDelegate)(nil)

func (d *aliveDelegate) NotifyAlive(peer *memberlist.Node) error {
	meta, _, _ := decodeMeta(peer.Meta) // a malformed meta claims no id
	r, refused := d.n.claimRefused(peer.Name, meta.ID)
	if !refused {
		return nil
	}
	r.addr = peer.Address()
	d.n.ident.notify(r)
	return r.err()
}

// mergeDelegate is the Node's memberlist.MergeDelegate: a join whose other
// side knows this node's name, not alive, with another id (a crashed or
// left node this one would replace) is refused, and the node marks itself
// refused; the join fails with why. An alive holder of the name is left to
// the other side's aliveDelegate and memberlist's address conflict: this
// node cannot tell from here which of the two the ring knew first.
type mergeDelegate struct{ n *Node }

var _ memberlist.MergeDelegate = (*mergeDelegate)(nil)

func (d *mergeDelegate) NotifyMerge(peers []*memberlist.Node) error {
	i := d.n.ident
	for _, p := range peers {
		meta, _, _ := decodeMeta(p.Meta)
		if p.Name == i.self && p.State != memberlist.StateAlive && meta.ID != "" && meta.ID != i.id {
			err := refusal{Name: i.self, ID: i.id, KnownID: meta.ID, State: stateName(p.State), By: "the ring it joined"}.err()
			i.refuse(err)
			return err
		}
	}
	return nil
}

// noticeLoop sends the queued refusal notices, at most one a second to an
// address, each logged on this side too.
func (n *Node) noticeLoop(ctx context.Context) {
	sent := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-n.ident.notices:
			if time.Since(sent[r.addr]) < time.Second {
				continue
			}
			if len(sent) > 1024 {
				clear(sent)
			}
			sent[r.addr] = time.Now()
			n.sendNotice(r)
		}
	}
}

// sendNotice tells the claimant its claim was refused.
func (n *Node) sendNotice(r refusal) {
	n.ident.warns.warn("refused a node claiming a known member's name with another node id",
		"member", r.Name, "known_id", r.KnownID, "state", r.State, "claimed_id", r.ID, "addr", r.addr)
	host, port, err := net.SplitHostPort(r.addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return
	}
	body, _ := json.Marshal(r)
	to := &memberlist.Node{Name: r.Name, Addr: net.ParseIP(host), Port: uint16(p)}
	if err := n.ml.Load().SendReliable(to, append([]byte{msgRefused}, body...)); err != nil {
		n.log.Debug("refusal notice not sent", "to", r.addr, "err", err)
	}
}

// stateName names a memberlist state as Member.State does.
func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return StateAlive
	case memberlist.StateSuspect:
		return StateSuspect
	case memberlist.StateLeft:
		return StateLeft
	}
	return StateDead
}
