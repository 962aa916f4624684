package cluster

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// pingDelegate is the Node's memberlist.PingDelegate: it keeps the
// round-trip time of the last probe of each member (memberlist's ping, the
// measure Serf builds its coordinates from). It carries no payload.
type pingDelegate struct{ n *Node }

var _ memberlist.PingDelegate = (*pingDelegate)(nil)

// AckPayload sends nothing with an ack.
func (d *pingDelegate) AckPayload() []byte { return nil }

// NotifyPingComplete records the round-trip time of a probe of other.
func (d *pingDelegate) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, _ []byte) {
	d.n.rtts.set(other.Name, rtt)
}

// rttTable holds the last round-trip time measured to each member.
type rttTable struct {
	mu  sync.Mutex
	rtt map[string]time.Duration
}

func (t *rttTable) set(name string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rtt == nil {
		t.rtt = map[string]time.Duration{}
	}
	t.rtt[name] = d
}

func (t *rttTable) get(name string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.rtt[name]
	return d, ok
}

// RTT is the round-trip time of this node's last gossip probe of member
// name that was answered; ok is false when none is known (this node
// itself, or a member not probed yet).
func (n *Node) RTT(name string) (d time.Duration, ok bool) { return n.rtts.get(name) }
