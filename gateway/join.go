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

// JoinRing joins the ring through seeds — gossip addresses or HTTP URLs of
// any node (asked for their gossip address). It returns at once; the
// joining goes on in the background, retried with backoff until one seed
// answers or the gateway closes.
func (g *Gateway) JoinRing(seeds []string) {
	if g.node == nil || len(seeds) == 0 {
		return
	}
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		wait := joinMinBackoff
		for !g.tryJoin(g.runCtx, seeds) {
			select {
			case <-g.runCtx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, joinMaxBackoff)
		}
	}()
}

// tryJoin makes one attempt at every seed; it reports whether any joined.
func (g *Gateway) tryJoin(ctx context.Context, seeds []string) bool {
	var addrs []string
	for _, s := range seeds {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			addrs = append(addrs, s)
			continue
		}
		info, err := g.fed.FetchInfo(ctx, s)
		if err != nil {
			g.log.Warn("join: cannot ask node for its gossip address; will retry", "seed", s, "err", err)
			continue
		}
		addrs = append(addrs, info.GossipAddress)
	}
	if len(addrs) == 0 {
		return false
	}
	n, err := g.node.Join(addrs)
	if n == 0 {
		attrs := []any{"seeds", strings.Join(addrs, ","), "err", err}
		if errors.Is(err, cluster.ErrNameHeld) || g.node.Refused() != nil {
			g.log.Error("join: the ring refuses this node's name; will retry", "err", g.node.Refused())
			return false
		}
		if err != nil && strings.Contains(err.Error(), "decrypt") {
			attrs = append(attrs, "hint", "this node's gossip keys differ from the ring's: see `mcpmesh keyring list` on a member, then start with --gossip-key KEY (and --reset-keyring if a keyring is stored)")
		}
		g.log.Warn("join: no seed answered; will retry", attrs...)
		return false
	}
	g.log.Info("joined the ring", "contacted", n, "members", g.node.NumMembers())
	return true
}
