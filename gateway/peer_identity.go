package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// A peer's identity: a URL is only what its /api/federation/info says it
// is, and anyone can answer that. What a member is reached at comes from
// the member itself, in the URL it gossips in its node meta (gossip is
// encrypted with the ring's key). So a peer's URL is accepted only when
// it is the address its member gossips, and node tokens naming a member
// go only to that gossiped address (nodeTokens.forNode).

// errNoAddress is the error of a URL with no host to compare.
var errNoAddress = errors.New("no host and port")

// resolveTimeout bounds resolving the host names of two URLs to compare.
const resolveTimeout = 3 * time.Second

// provePeer checks that the node at peerURL is the member its info names:
// that member must be (or become, once the gossip address the info gave is
// joined) alive in the ring and gossip peerURL's address. It returns the
// HTTP status of the refusal: 502 for a URL that is not a ring member at
// all, 409 for a URL that claims a member gossiping another address.
func (f *Federation) provePeer(ctx context.Context, peerURL string, info nodeInfo) (int, error) {
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
func (f *Federation) ensureMember(info nodeInfo) error {
	if m, ok := f.cfg.Node.Member(info.Name); ok && m.State == cluster.StateAlive {
		return nil
	}
	_, err := f.cfg.Node.Join([]string{info.GossipAddress})
	return err
}

// sameAddress reports whether two URLs name the same host and port, once
// their hosts are resolved: http://localhost:8001 and http://127.0.0.1:8001
// are the same address. The error says why a host could not be resolved.
func sameAddress(ctx context.Context, a, b string) (bool, error) {
	ha, pa, err := hostPort(a)
	if err != nil {
		return false, err
	}
	hb, pb, err := hostPort(b)
	if err != nil || pa != pb {
		return false, err
	}
	if strings.EqualFold(ha, hb) {
		return true, nil
	}
	return sameHost(ctx, ha, hb)
}

// sameHost reports whether two host names resolve to a common address.
func sameHost(ctx context.Context, a, b string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ipsA, err := resolveHost(ctx, a)
	if err != nil {
		return false, err
	}
	ipsB, err := resolveHost(ctx, b)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ipsA, func(ip netip.Addr) bool { return slices.Contains(ipsB, ip) }), nil
}

// hostPort returns a URL's host and port (the scheme's default port when
// it names none).
func hostPort(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("url %q has %w", raw, errNoAddress)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Hostname(), port, nil
}

// resolveHost returns the addresses of host (itself if it is an address).
func resolveHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	return ips, nil
}
