package federation

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

// ErrMeshURL marks an upstream URL refused because it points at the mesh.
var ErrMeshURL = errors.New("upstream url points at the mesh")

// Self is where this node serves MCP: its name, its advertised URL and the
// address its HTTP listener is bound to.
type Self struct {
	Name, URL, Listen string
}

// CheckNotMesh refuses the upstream server whose URL points at this node
// (self) or at a member of ring (nil: no ring), naming which. A URL that
// does not resolve passes.
func CheckNotMesh(ctx context.Context, self Self, ring *cluster.Node, server, rawURL string) error {
	if rawURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	target, err := resolveURL(ctx, rawURL)
	if err != nil {
		return nil
	}
	if self.isSelf(ctx, target) {
		return fmt.Errorf("%w: server %q: url %s points at this node (%s, %s): a mesh node's tools are federated by peering, not as an upstream",
			ErrMeshURL, server, rawURL, self.Name, self.URL)
	}
	if m, ok := memberAt(ctx, self, ring, target); ok {
		return fmt.Errorf("%w: server %q: url %s points at ring member %s (%s): a mesh node's tools are federated by peering, not as an upstream",
			ErrMeshURL, server, rawURL, m.Name, m.Meta.URL)
	}
	return nil
}

// isSelf reports whether target is this node's listener or advertised URL.
func (s Self) isSelf(ctx context.Context, target endpoint) bool {
	if adv, err := resolveURL(ctx, s.URL); err == nil && target.sameMachine(adv) {
		return true
	}
	host, port, err := net.SplitHostPort(s.Listen)
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
func memberAt(ctx context.Context, self Self, ring *cluster.Node, target endpoint) (cluster.Member, bool) {
	if ring == nil {
		return cluster.Member{}, false
	}
	for _, m := range ring.Members() {
		if m.Name == self.Name || m.Meta.URL == "" || m.State == cluster.StateLeft {
			continue
		}
		if ep, err := resolveURL(ctx, m.Meta.URL); err == nil && target.sameMachine(ep) {
			return m, true
		}
	}
	return cluster.Member{}, false
}
