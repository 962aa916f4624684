package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrShutdown is returned by a Node's methods after Shutdown.
var ErrShutdown = errors.New("cluster: node is shut down")

// Node is this process's member of the ring. Its methods are safe for
// concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	ml      atomic.Pointer[memberlist.Memberlist]
	queue   *memberlist.TransmitLimitedQueue
	reg     *Registry
	rules   *RuleRegistry
	members *memberTable
	events  *eventQueue
	drops   *rateLimited
	wire    *countingTransport // gossip transport and its counters (stats.go)
	keys    *keyring           // nil: unencrypted gossip
	ident   *identity          // the node id and refusals (identity.go)
	seeds   seedState          // --join seeds, for rejoin rounds and readiness (seedwatch.go)

	rtts    rttTable // the last gossip round-trip time to each member (ping_delegate.go)
	metaMu  sync.Mutex
	meta    NodeMeta
	leaving bool
	encoded []byte

	stateMu  sync.Mutex // Leave and Shutdown
	left     bool
	shutdown bool

	persistKick chan struct{}
	rejoinKick  chan struct{}
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// Start loads the node's registry and member snapshot from cfg.Store,
// starts gossip on cfg.BindAddr and the background loops. It does not join
// anyone: call Join, or let the rejoin loop find the members persisted by
// an earlier run. ctx bounds the start only; the node runs until Shutdown.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg, err := cfg.prepare()
	if err != nil {
		return nil, fmt.Errorf("cluster: config: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cluster: start: %w", err)
	}
	n, err := newNode(cfg)
	if err != nil {
		return nil, err
	}
	if err := n.startGossip(); err != nil {
		return nil, err
	}
	n.startLoops()
	n.log.Info("gossip started", "addr", n.GossipAddr(), "label", cfg.Label, "peers_loaded", len(n.reg.All()))
	return n, nil
}

// startGossip creates the memberlist, which binds the gossip ports.
func (n *Node) startGossip() error {
	mc, err := n.memberlistConfig(n.cfg)
	if err != nil {
		return fmt.Errorf("cluster: config: %w", err)
	}
	if n.keys == nil {
		n.log.Warn("gossip is not encrypted: no secret key")
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = n.wire.Shutdown() // memberlist does not always shut a given transport down
		return fmt.Errorf("cluster: start gossip on %s: %w", n.cfg.BindAddr, err)
	}
	n.ml.Store(ml)
	n.members.setLocal(StateAlive, ml.LocalNode().Address(), n.cfg.Meta)
	return nil
}

// newNode builds the Node and loads its persisted state.
func newNode(cfg Config) (*Node, error) {
	log := cfg.Logger.With("component", "cluster")
	reg, err := newRegistry(cfg.Name, cfg.Store, log, cfg.Timings.MaxClockSkew, cfg.Timings.TombstoneTTL)
	if err != nil {
		return nil, fmt.Errorf("cluster: load registry: %w", err)
	}
	rules, err := newRuleRegistry(cfg.Name, cfg.Store, log, cfg.Timings.MaxClockSkew, cfg.Timings.TombstoneTTL)
	if err != nil {
		return nil, fmt.Errorf("cluster: load rules: %w", err)
	}
	snap, err := loadSnapshot(cfg.Store, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("cluster: load member snapshot: %w", err)
	}
	ids, err := loadSnapshotIDs(cfg.Store, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("cluster: load member snapshot: %w", err)
	}
	keys, stored, err := loadKeyring(cfg.Store, cfg.SecretKey, cfg.ResetKeyring)
	if err != nil {
		return nil, fmt.Errorf("cluster: load keyring: %w", err)
	}
	if cfg.Meta.ID, err = loadNodeID(cfg.Store); err != nil {
		return nil, fmt.Errorf("cluster: load node id: %w", err)
	}
	if stored {
		keys.logLoaded(log, cfg.SecretKey)
	}
	n := &Node{
		cfg: cfg, log: log, reg: reg, rules: rules, members: newMemberTable(cfg.Name, snap), keys: keys,
		ident:  newIdentity(cfg.Name, cfg.Meta.ID, log),
		events: newEventQueue(cfg.EventBuffer), drops: &rateLimited{log: log, period: 10 * time.Second},
		meta: cfg.Meta, persistKick: make(chan struct{}, 1), rejoinKick: make(chan struct{}, 1),
	}
	n.members.ids = ids
	n.encoded, _ = cfg.Meta.encode(false) // checked by prepare
	n.queue = newQueue(cfg.Timings.RetransmitMult, n.members.upCount)
	reg.broadcast = n.queueBroadcast
	reg.changed = func(rec PeerRecord) { n.events.push(Event{Type: RegistryChanged, Peer: rec}) }
	reg.dirty = func() { kick(n.persistKick) }
	rules.broadcast = func(name string, msg []byte) { n.queueBroadcast("rule/"+name, msg) }
	rules.changed = func(rec RuleRecord) { n.events.push(Event{Type: RulesChanged, Rule: rec}) }
	rules.dirty = func() { kick(n.persistKick) }
	return n, nil
}

// kick wakes a loop without blocking.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// emit queues events.
func (n *Node) emit(evs []Event) {
	for _, e := range evs {
		n.events.push(e)
	}
	if len(evs) > 0 {
		kick(n.persistKick) // the member snapshot may have changed
	}
}

// decodeMeta decodes a member's meta; a malformed one counts as empty.
func (n *Node) decodeMeta(node *memberlist.Node) (NodeMeta, bool) {
	meta, leaving, err := decodeMeta(node.Meta)
	if err != nil {
		n.drops.warn("member sent malformed meta", "member", node.Name, "bytes", len(node.Meta))
	}
	return meta, leaving
}

// sawSuspect is called by the memberlist logger when this node's probe of
// name failed.
func (n *Node) sawSuspect(name string) { n.emit(n.members.suspect(name)) }

// metaBytes returns the encoded local meta.
func (n *Node) metaBytes() []byte {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	return n.encoded
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Rules returns the replicated access-rule registry.
func (n *Node) Rules() *RuleRegistry { return n.rules }

// Registry returns the replicated peer registry.
func (n *Node) Registry() *Registry { return n.reg }

// Events returns the channel of ring events. It is buffered
// (Config.EventBuffer) and drops its oldest event when full, so a slow
// consumer loses events rather than stalling gossip (see DroppedEvents). It
// is closed by Shutdown.
func (n *Node) Events() <-chan Event { return n.events.ch }

// DroppedEvents returns how many events were dropped for a full channel.
func (n *Node) DroppedEvents() uint64 { return n.events.dropped.Load() }

// GossipAddr returns the address other nodes reach this one at, host:port.
func (n *Node) GossipAddr() string { return n.ml.Load().LocalNode().Address() }

// NumMembers returns how many members memberlist counts as up (alive or
// suspect), this node included.
func (n *Node) NumMembers() int {
	if ml := n.ml.Load(); ml != nil {
		return ml.NumMembers()
	}
	return 1
}

// Members returns every member seen and not reaped, this node included,
// sorted by name.
func (n *Node) Members() []Member { return n.members.list() }

// Member returns the member name, if it is known.
func (n *Node) Member(name string) (Member, bool) { return n.members.get(name) }

// Local returns this node as a member.
func (n *Node) Local() Member {
	m, _ := n.members.get(n.cfg.Name)
	return m
}

// KnownAddrs returns the gossip addresses of every member known now or
// from the persisted snapshot, except this node and members that left.
func (n *Node) KnownAddrs() []string { return n.members.knownAddrs() }

// Join contacts the given gossip addresses ("host:port") and merges with
// their rings. It returns how many were reached; the error is set only if
// none was.
func (n *Node) Join(addrs []string) (int, error) {
	if n.isShutdown() {
		return 0, ErrShutdown
	}
	k, err := n.ml.Load().Join(addrs)
	if err != nil && k == 0 {
		return 0, fmt.Errorf("cluster: join %v: %w", addrs, err)
	}
	return k, nil
}
