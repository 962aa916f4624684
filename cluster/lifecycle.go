package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// minLeaveTimeout is the least time Leave gives its announcements, even
// when the caller's deadline has passed.
const minLeaveTimeout = 100 * time.Millisecond

// SetMeta replaces the node's meta and gossips it, so every member sees the
// change (as a MemberUpdate). A meta over the limits is refused and
// nothing changes. It returns once the update has gone out to the ring, or
// after TCPTimeout with the update still queued.
func (n *Node) SetMeta(meta NodeMeta) error {
	return n.updateMeta(func(m *NodeMeta) { *m = meta })
}

// SetCatalogDigest changes the catalog digest in the node's meta (see
// SetMeta).
func (n *Node) SetCatalogDigest(d string) error {
	return n.updateMeta(func(m *NodeMeta) { m.CatalogDigest = d })
}

// SetServiceHealth changes the service health digest in the node's meta
// (see SetMeta); an unchanged digest gossips nothing.
func (n *Node) SetServiceHealth(h string) error {
	n.metaMu.Lock()
	same := n.meta.ServiceHealth == h
	n.metaMu.Unlock()
	if same {
		return nil
	}
	return n.updateMeta(func(m *NodeMeta) { m.ServiceHealth = h })
}

// updateMeta applies change to the local meta, atomically, and gossips it.
func (n *Node) updateMeta(change func(*NodeMeta)) error {
	if n.isShutdown() {
		return ErrShutdown
	}
	n.metaMu.Lock()
	meta := n.meta
	change(&meta)
	meta.ID = n.ident.id // the id is the node's, not the caller's
	b, err := meta.encode(n.leaving)
	if err == nil {
		n.meta, n.encoded = meta, b
	}
	n.metaMu.Unlock()
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.members.setLocal(n.localState(), n.GossipAddr(), meta)
	n.announce()
	return nil
}

// Meta returns the node's current meta.
func (n *Node) Meta() NodeMeta {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	return n.meta
}

// announce gossips the local meta. memberlist's UpdateNode waits until the
// alive message has been sent; a timeout only means it is still queued.
func (n *Node) announce() {
	if err := n.ml.Load().UpdateNode(n.cfg.Timings.TCPTimeout); err != nil {
		n.log.Debug("meta update still being gossiped", "err", err)
	}
}

func (n *Node) localState() string {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	if n.left {
		return StateLeft
	}
	return StateAlive
}

func (n *Node) isShutdown() bool {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	return n.shutdown
}

// Leave announces that this node leaves the ring, so the others record it
// as left rather than dead: it first gossips a meta flagged as leaving,
// then memberlist's leave message, within timeout. The node keeps running
// (and answering probes) until Shutdown. Calling it again does nothing.
func (n *Node) Leave(timeout time.Duration) error {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	switch {
	case n.shutdown:
		return ErrShutdown
	case n.left:
		return nil
	}
	n.left = true
	timeout = max(timeout, minLeaveTimeout) // memberlist waits forever on 0
	deadline := time.Now().Add(timeout)
	n.metaMu.Lock()
	n.leaving = true
	n.encoded, _ = n.meta.encode(true)
	n.metaMu.Unlock()
	ml := n.ml.Load()
	if err := ml.UpdateNode(timeout / 2); err != nil {
		n.log.Debug("leave flag still being gossiped", "err", err)
	}
	err := ml.Leave(max(time.Until(deadline), minLeaveTimeout/2))
	n.members.setLocal(StateLeft, ml.LocalNode().Address(), n.Meta())
	n.log.Info("left the ring", "err", err)
	if err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossip and the background loops, and persists what is
// pending. Without a Leave before it, the others will see this node fail.
// It does not close the store. Calling it again does nothing.
func (n *Node) Shutdown() error {
	n.stateMu.Lock()
	if n.shutdown {
		n.stateMu.Unlock()
		return nil
	}
	n.shutdown = true
	n.stateMu.Unlock()
	n.cancel()
	n.wg.Wait()
	err := n.ml.Load().Shutdown()
	err = errors.Join(err, n.persist())
	n.events.close()
	n.log.Info("gossip stopped")
	if err != nil {
		return fmt.Errorf("cluster: shutdown: %w", err)
	}
	return nil
}

// Close leaves the ring (bounded by ctx's deadline, else the configured
// LeaveTimeout) and shuts down.
func (n *Node) Close(ctx context.Context) error {
	timeout := n.cfg.Timings.LeaveTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	err := n.Leave(timeout)
	if errors.Is(err, ErrShutdown) {
		err = nil
	}
	return errors.Join(err, n.Shutdown())
}
