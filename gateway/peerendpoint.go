package gateway

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// PeerMCPPath is the route of the per-peer MCP endpoints: one peer's tools,
// prompts and resources under their own names, calls forwarded to it.
const PeerMCPPath = "/mcp/peers/:peer"

// peerServers are the MCP servers of /mcp/peers/{peer}, one per peer,
// made on first use and closed when the peer is gone or the node closes.
type peerServers struct {
	mu     sync.Mutex
	byName map[string]*peerServer
	closed bool
}

// peerServer is one peer's MCP server and the digests of its listings, so
// that a change notifies its sessions only of the kinds that changed.
type peerServer struct {
	srv  *mcp.Server
	view mcp.Backend
	sums map[mcp.Kind][32]byte
}

// servePeerMCP serves /mcp/peers/{peer} with that peer's server; an unknown
// peer is 404 naming it.
func (g *Gateway) servePeerMCP(c *gin.Context) {
	name := c.Param("peer")
	if g.fed == nil || !g.fed.HasPeer(name) {
		abortJSON(c, http.StatusNotFound, fmt.Errorf("unknown peer %q: /mcp/peers/{peer} serves only this node's peers", name))
		return
	}
	srv := g.peerServer(name)
	if srv == nil {
		abortJSON(c, http.StatusServiceUnavailable, fmt.Errorf("node is shutting down"))
		return
	}
	srv.Handler().ServeHTTP(c.Writer, c.Request)
}

// peerServer returns the peer's server, making it on first use; nil once
// the gateway has closed them.
func (g *Gateway) peerServer(name string) *mcp.Server {
	ps := &g.peerMCP
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil
	}
	if p, ok := ps.byName[name]; ok {
		return p.srv
	}
	if ps.byName == nil {
		ps.byName = map[string]*peerServer{}
	}
	p := &peerServer{view: g.fed.Guard(g.fed.PeerView(name), name), sums: map[mcp.Kind][32]byte{}}
	opts := g.serverOptions()
	opts.OnCall = func(ci mcp.CallInfo) { g.observeCall(name, ci) }
	p.srv = mcp.NewServer(limitedBackend{p.view, g.limits, name}, opts)
	p.changed()
	ps.byName[name] = p
	return p.srv
}

// peerServersChanged closes the servers of peers that are gone, and tells
// the others' sessions that their lists may have changed.
func (g *Gateway) peerServersChanged() {
	ps := &g.peerMCP
	ps.mu.Lock()
	var gone []*peerServer
	for name, p := range ps.byName {
		if g.fed.HasPeer(name) {
			for k := range p.changed() {
				p.srv.NotifyListChanged(k)
			}
			continue
		}
		gone = append(gone, p)
		delete(ps.byName, name)
	}
	ps.mu.Unlock()
	for _, p := range gone {
		p.srv.Close()
	}
}

// changed takes new digests of the view's listings and returns the kinds
// whose list_changed is due.
func (p *peerServer) changed() map[mcp.Kind]bool {
	out := map[mcp.Kind]bool{}
	for k, announce := range notifyKinds {
		if sum := listDigest(p.view, k); sum != p.sums[k] {
			p.sums[k] = sum
			out[announce] = true
		}
	}
	return out
}

// closeAll closes every peer server; none is made afterwards.
func (ps *peerServers) closeAll() {
	ps.mu.Lock()
	servers := ps.byName
	ps.byName, ps.closed = nil, true
	ps.mu.Unlock()
	for _, p := range servers {
		p.srv.Close()
	}
}
