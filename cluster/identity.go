package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// A node's identity. memberlist knows a node by its name only, so a node
// started under the name of one that crashed would become it for the ring
// (memberlist lets a dead member's name be reclaimed from a new address),
// and the real one, restarting, would find its name taken. So each node
// makes a random id once, keeps it in its store and gossips it in its
// meta; a member's name stays bound to the id it was seen with until the
// member is reaped (ReconnectTimeout after it failed, LeftTimeout after it
// left). An alive message claiming a known name with another id is
// refused (aliveDelegate), and the claimant is told so (a refusal notice),
// so that its Refused says why it is not in the ring. The id is not a
// secret (every member sees it gossiped): it stops a mistake, or a node
// that does not have the ring's data, not a holder of the ring's key.

// nodeIDKey is the store key of the node's id.
const nodeIDKey = "node-id"

// msgRefused is the gossip message type of a refusal notice (after
// wire.go's msgRecord and msgState).
const msgRefused byte = 3

// refusalHold is how long a refusal notice keeps a node refused: claimants
// are told again on every refused alive message (at least every push-pull).
const refusalHold = 30 * time.Second

// ErrNameHeld is the error of a node whose name the ring holds for another
// node id.
var ErrNameHeld = errors.New("the ring holds this node's name for another node id")

// loadNodeID returns the node id kept in st, making and storing one the
// first time. A stored id that is not one is an error: the node's
// identity is not silently replaced.
func loadNodeID(st store.Store) (string, error) {
	b, err := st.Get(nodeIDKey)
	switch {
	case err == nil && validNodeID(string(b)):
		return string(b), nil
	case err == nil:
		return "", fmt.Errorf("stored node id %.40q is not 32 hex digits", b)
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make a node id: %w", err)
	}
	id := hex.EncodeToString(raw)
	if err := st.Put(nodeIDKey, []byte(id)); err != nil {
		return "", fmt.Errorf("store the node id: %w", err)
	}
	return id, nil
}

func validNodeID(id string) bool {
	_, err := hex.DecodeString(id)
	return err == nil && len(id) == MaxMetaID
}

// refusal is a notice to a node whose claim to a name was refused.
type refusal struct {
	Name    string `json:"name"`     // the name claimed
	ID      string `json:"id"`       // the claimant's id
	KnownID string `json:"known_id"` // the id the name is held for
	State   string `json:"state"`    // of the known member, as the sender sees it
	By      string `json:"by"`       // the node that refused
	addr    string // where the claimant gossips from (not sent)
}

func (r refusal) err() error {
	return fmt.Errorf("%w: %s knows %q as node id %s (%s); this node's id is %s. Start it on that node's data dir, "+
		"under another --name, or once the ring has forgotten the old node (--reconnect-timeout after it failed)",
		ErrNameHeld, r.By, r.Name, r.KnownID, r.State, r.ID)
}

// identity is the node's id and what it was told about its claims.
type identity struct {
	self, id string
	log      *slog.Logger
	notices  chan refusal // to the notice loop
	warns    *rateLimited // of notices sent
	now      func() time.Time

	mu      sync.Mutex
	refused error
	at      time.Time
}

func newIdentity(self, id string, log *slog.Logger) *identity {
	return &identity{self: self, id: id, log: log, notices: make(chan refusal, 16), now: time.Now,
		warns: &rateLimited{log: log, period: 10 * time.Second}}
}

// claimRefused reports whether an alive message claiming name with id is
// refused: the name is known here, not reaped, with another id.
func (n *Node) claimRefused(name, id string) (refusal, bool) {
	if name == n.cfg.Name {
		return refusal{}, false
	}
	known, state := n.members.knownID(name)
	if known == "" || known == id {
		return refusal{}, false
	}
	return refusal{Name: name, ID: id, KnownID: known, State: state, By: n.cfg.Name}, true
}

// notify queues a refusal notice; a full queue drops it (the claimant is
// told again on its next alive message).
func (i *identity) notify(r refusal) {
	select {
	case i.notices <- r:
	default:
	}
}

// receive handles a refusal notice: one about this node's name and id
// marks the node refused for refusalHold.
func (i *identity) receive(msg []byte) {
	var r refusal
	if len(msg) > maxMsgBytes || json.Unmarshal(msg, &r) != nil || r.Name != i.self || r.ID != i.id || r.KnownID == i.id {
		return
	}
	i.refuse(r.err())
}

// refuse marks the node refused; the first refusal in a while is logged.
func (i *identity) refuse(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.refused == nil || i.now().Sub(i.at) > refusalHold {
		i.log.Error("the ring refuses this node", "err", err)
	}
	i.refused, i.at = err, i.now()
}

// Refused returns why the ring refuses this node's name, if it was told so
// within the last refusalHold; nil otherwise.
func (n *Node) Refused() error {
	i := n.ident
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.refused != nil && i.now().Sub(i.at) <= refusalHold {
		return i.refused
	}
	return nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.ident.id }
