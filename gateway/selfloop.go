package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// An upstream that is a mesh node loops: this node would list its own
// catalog (or a ring member's, which federates this node's) as local tools,
// which changes the catalog, which the upstream lists again, without end.
// So an upstream URL that resolves to this node's MCP endpoint (its --http
// listener or its advertised URL) or to any ring member's gossiped URL is
// refused, whatever its path (400 on POST /api/servers; listed as failed,
// and not started, at start). Addresses are compared as resolved host and
// port: loopback addresses (127.0.0.0/8, ::1, localhost) and the unspecified
// ones (0.0.0.0, ::) are one host, and a listener bound to an unspecified
// address also owns every address of this machine's interfaces. A name
// that does not resolve is not refused here: the upstream fails to connect
// and says so. Tools of a mesh node are federated by peering, not as an
// upstream.

// errMeshURL marks an upstream URL refused because it points at the mesh.
var errMeshURL = errors.New("upstream url points at the mesh")

// checkNotMesh refuses an upstream whose URL points at this node or at a
// ring member, naming which.
func (g *Gateway) checkNotMesh(ctx context.Context, cfg serverConfig) error {
	if cfg.URL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	target, err := resolveURL(ctx, cfg.URL)
	if err != nil {
		return nil
	}
	if g.isSelf(ctx, target) {
		return fmt.Errorf("%w: server %q: url %s points at this node (%s, %s): a mesh node's tools are federated by peering, not as an upstream",
			errMeshURL, cfg.Name, cfg.URL, g.name, g.url)
	}
	if m, ok := g.memberAt(ctx, target); ok {
		return fmt.Errorf("%w: server %q: url %s points at ring member %s (%s): a mesh node's tools are federated by peering, not as an upstream",
			errMeshURL, cfg.Name, cfg.URL, m.Name, m.Meta.URL)
	}
	return nil
}

// isSelf reports whether target is this node's listener or advertised URL.
func (g *Gateway) isSelf(ctx context.Context, target endpoint) bool {
	if adv, err := resolveURL(ctx, g.url); err == nil && target.sameMachine(adv) {
		return true
	}
	host, port, err := net.SplitHostPort(g.listen)
	if err != nil || port != target.port {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return slices.ContainsFunc(target.ips, isThisMachine)
	}
	return target.sameMachine(endpoint{ips: []netip.Addr{ip.Unmap()}, port: port})
}

// memberAt finds the ring member, other than this node, whose gossiped URL
// is target.
func (g *Gateway) memberAt(ctx context.Context, target endpoint) (cluster.Member, bool) {
	if g.node == nil {
		return cluster.Member{}, false
	}
	for _, m := range g.node.Members() {
		if m.Name == g.name || m.Meta.URL == "" || m.State == cluster.StateLeft {
			continue
		}
		if ep, err := resolveURL(ctx, m.Meta.URL); err == nil && target.sameMachine(ep) {
			return m, true
		}
	}
	return cluster.Member{}, false
}
