package cluster

import (
	"strings"

	"github.com/hashicorp/memberlist"
)

// maxQueued bounds the broadcast queue; the oldest broadcasts beyond it are
// dropped (push-pull repairs what they would have carried).
const maxQueued = 4096

// peerBroadcast is a registry broadcast. It is named after its peer, so a
// newer version of a record replaces an older one still in the queue.
type peerBroadcast struct {
	name string
	msg  []byte
}

var _ memberlist.NamedBroadcast = (*peerBroadcast)(nil)

func (b *peerBroadcast) Name() string {
	if strings.HasPrefix(b.name, "rule/") {
		return b.name // a rule's broadcast (see RuleRegistry)
	}
	return "peer/" + b.name
}
func (b *peerBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *peerBroadcast) Message() []byte                       { return b.msg }
func (b *peerBroadcast) Finished()                             {}

// newQueue returns the broadcast queue; numNodes sizes retransmissions.
func newQueue(retransmitMult int, numNodes func() int) *memberlist.TransmitLimitedQueue {
	return &memberlist.TransmitLimitedQueue{NumNodes: numNodes, RetransmitMult: retransmitMult}
}

// queueBroadcast queues msg about peer name for the ring.
func (n *Node) queueBroadcast(name string, msg []byte) {
	n.queue.QueueBroadcast(&peerBroadcast{name: name, msg: msg})
	if n.queue.NumQueued() > maxQueued {
		n.queue.Prune(maxQueued)
	}
}
