package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// startLoops starts the Node's background goroutines; Shutdown stops them.
func (n *Node) startLoops() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.goLoop(func() { n.persistLoop(ctx) })
	n.goLoop(func() { n.maintenanceLoop(ctx) })
	n.goLoop(func() { n.noticeLoop(ctx) })
	if n.cfg.Timings.RejoinInterval > 0 {
		n.goLoop(func() { n.rejoinLoop(ctx) })
	}
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// persistLoop writes what the ring taught this node (registry records,
// member snapshot) to the store, serially, coalescing whatever arrived
// while it was writing. A failed write is retried on the next wake-up.
func (n *Node) persistLoop(ctx context.Context) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.persistKick:
		case <-retry.C:
		}
		if err := n.persist(); err != nil {
			n.drops.warn("persisting gossip state failed; will retry", "err", err)
		}
	}
}

// persist flushes the registry and the member snapshot.
func (n *Node) persist() error {
	return errors.Join(n.reg.flush(), n.rules.flush(), n.members.flush(n.cfg.Store))
}

// maintenanceLoop ends stale suspicions, reaps long-gone members and
// collects expired tombstones.
func (n *Node) maintenanceLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Timings.MaintenanceInterval)
	defer t.Stop()
	lastGC := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tm := n.cfg.Timings
		n.noteCompany()
		n.emit(n.members.expireSuspects(tm.suspectWindow(n.NumMembers())))
		n.emit(n.members.reap(tm.ReconnectTimeout, tm.LeftTimeout))
		if n.members.conflictReady(tm.DeadNodeReclaimTime) {
			kick(n.rejoinKick)
		}
		if time.Since(lastGC) > time.Minute {
			n.reg.collectTombstones()
			n.rules.collectTombstones()
			lastGC = time.Now()
		}
	}
}

// rejoinLoop retries, every RejoinInterval (and once at start), the
// addresses of members that are not up: those of the persisted snapshot
// (so a restarted node finds its ring without --join), dead ones (so a
// healed partition merges again) and addresses a restarted member claimed.
// Each address is tried once per round, all at once.
func (n *Node) rejoinLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Timings.RejoinInterval)
	defer t.Stop()
	for {
		n.rejoin()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.rejoinKick:
		}
	}
}

func (n *Node) rejoin() {
	n.seedRound()
	ml := n.ml.Load()
	up := map[string]bool{}
	for _, m := range ml.Members() {
		up[m.Name] = true
	}
	addrs := n.members.rejoinAddrs(up, n.cfg.Timings.DeadNodeReclaimTime)
	if len(addrs) == 0 {
		return
	}
	// One join per address, at once (joinEach): an unreachable address
	// costs a TCP timeout, which must not delay the others (a healed
	// partition).
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	reached, err := n.joinEach(addrs)
	n.seeds.update(func(s *SeedStatus) { s.noteKey(reached, err) })
	n.log.Debug("rejoin attempt", "addrs", addrs, "reached", reached)
}

// maxRejoinsAtOnce bounds one rejoin round; beyond it, a random choice of
// addresses is tried each round.
const maxRejoinsAtOnce = 32
