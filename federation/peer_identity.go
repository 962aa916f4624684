package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
)

// A peer's identity: a URL is only what its /api/federation/info says it
// is, and anyone can answer that. What a member is reached at comes from
// the member itself, in the URL it gossips in its node meta (gossip is
// encrypted with the ring's key). So a peer's URL is accepted only when
// it is the address its member gossips, and node tokens naming a member
// go only to that gossiped address (nodeTokens.forNode).

// provePeer checks that the node at peerURL is the member its info names:
// that member must be (or become, once the gossip address the info gave is
// joined) alive in the ring and gossip peerURL's address. It returns the
// HTTP status of the refusal: 502 for a URL that is not a ring member at
// all, 409 for a URL that claims a member gossiping another address.
func (f *Engine) provePeer(ctx context.Context, peerURL string, info api.Info) (int, error) {
	if err := f.ensureMember(info); err != nil {
		return http.StatusBadGateway, fmt.Errorf("cannot join %s (gossip %s): %w", peerURL, info.GossipAddress, err)
	}
	m, ok := f.cfg.Node.Member(info.Name)
	if !ok || (m.State != cluster.StateAlive && m.State != cluster.StateSuspect) {
		return http.StatusBadGateway, fmt.Errorf("url %s says it is member %q, but no member of that name is alive in the ring, even after joining the gossip address it gave (%s)",
			peerURL, info.Name, info.GossipAddress)
	}
	if m.Meta.URL == "" {
		return http.StatusConflict, fmt.Errorf("url %s says it is member %q, which gossips no url: nothing shows that %s is that member", peerURL, info.Name, peerURL)
	}
	same, err := sameAddress(ctx, peerURL, m.Meta.URL)
	if same {
		return 0, nil
	}
	msg := fmt.Sprintf("url %s says it is member %q, but %q gossips the address %s: a peer's url must be the address its member gossips",
		peerURL, info.Name, info.Name, m.Meta.URL)
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	return http.StatusConflict, errors.New(msg)
}

// ensureMember joins the node's gossip address unless it is an alive member.
func (f *Engine) ensureMember(info api.Info) error {
	if m, ok := f.cfg.Node.Member(info.Name); ok && m.State == cluster.StateAlive {
		return nil
	}
	_, err := f.cfg.Node.Join([]string{info.GossipAddress})
	return err
}
