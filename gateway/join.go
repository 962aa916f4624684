package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// Join retry bounds: a seed that is not up yet is retried with backoff.
const (
	joinMinBackoff = 200 * time.Millisecond
	joinMaxBackoff = 10 * time.Second
)

// JoinRing joins the ring through seeds — gossip addresses, dns:NAME[:PORT]
// names (every address of NAME; looked up again on every rejoin round) or
// HTTP URLs of any node (asked for their gossip address), checked before
// (see cluster.ParseSeed). It returns at once; the joining goes on in the
// background, retried with backoff until one seed answers or the gateway
// closes.
func (g *Gateway) JoinRing(seeds []string) {
	if g.node == nil || len(seeds) == 0 {
		return
	}
	urls, gossip := splitSeeds(seeds)
	g.node.SetSeeds(len(seeds), gossip)
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		wait := joinMinBackoff
		for !g.tryJoin(g.runCtx, urls, gossip) {
			select {
			case <-g.runCtx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, joinMaxBackoff)
		}
	}()
}

// splitSeeds parts seeds into node URLs and gossip seeds; an entry that
// does not parse (not checked before) is left out.
func splitSeeds(seeds []string) (urls []string, gossip []cluster.Seed) {
	for _, s := range seeds {
		if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
			urls = append(urls, s)
		} else if seed, err := cluster.ParseSeed(s); err == nil {
			gossip = append(gossip, seed)
		}
	}
	return urls, gossip
}

// tryJoin makes one attempt at every seed; it reports whether any joined.
func (g *Gateway) tryJoin(ctx context.Context, urls []string, seeds []cluster.Seed) bool {
	addrs, err := g.node.ResolveSeeds(ctx, seeds)
	if err != nil {
		g.log.Warn("join: cannot look up a seed; will retry", "err", err)
	}
	for _, u := range urls {
		info, err := g.fed.FetchInfo(ctx, u)
		if err != nil {
			g.log.Warn("join: cannot ask node for its gossip address; will retry", "seed", u, "err", err)
			continue
		}
		addrs = append(addrs, info.GossipAddress)
	}
	if len(addrs) == 0 {
		return false
	}
	n, err := g.node.JoinSeeds(addrs)
	switch {
	case n > 0:
		g.log.Info("joined the ring", "contacted", n, "members", g.node.NumMembers())
		return true
	case g.node.NumMembers() > 1: // another node joined this one meanwhile
		return true
	case err == nil: // only this node's own address: the first of its ring, until another answers
		g.log.Debug("join: only this node answered; will retry", "seeds", strings.Join(addrs, ","))
		return false
	}
	g.logJoinFailed(addrs, err)
	return false
}

// logJoinFailed says why no seed answered, with a hint for a wrong key.
func (g *Gateway) logJoinFailed(addrs []string, err error) {
	attrs := []any{"seeds", strings.Join(addrs, ","), "err", err}
	if errors.Is(err, cluster.ErrNameHeld) || g.node.Refused() != nil {
		g.log.Error("join: the ring refuses this node's name; will retry", "err", g.node.Refused())
		return
	}
	if err != nil && strings.Contains(err.Error(), "decrypt") {
		attrs = append(attrs, "hint", "this node's gossip keys differ from the ring's: see `mcpmesh keyring list` on a member, then start with --gossip-key KEY (and --reset-keyring if a keyring is stored)")
	}
	g.log.Warn("join: no seed answered; will retry", attrs...)
}
