package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
)

func (g *Gateway) listMembers(c *gin.Context) {
	c.JSON(http.StatusOK, g.members())
}

// members is the ring's members as GET /api/federation/members shows them.
func (g *Gateway) members() []api.Member {
	reg := g.node.Registry()
	out := []api.Member{}
	for _, m := range g.node.Members() {
		v := api.Member{Name: m.Name, Address: m.Addr, URL: m.Meta.URL, Status: m.State,
			Version: m.Meta.Version, CatalogDigest: m.Meta.CatalogDigest, Since: m.Since.UTC(), Self: m.Name == g.name}
		if rec, ok := reg.ByMember(m.Name); ok {
			v.Peer = &rec.Name
		}
		out = append(out, v)
	}
	return out
}

// info is GET /api/federation/info: who this node is.
func (g *Gateway) info(c *gin.Context) {
	c.JSON(http.StatusOK, api.Info{
		Name: g.name, Version: g.version, GossipAddress: g.node.GossipAddr(), URL: g.url,
		CatalogDigest: g.catalog.Digest(), RegistryDigest: g.node.Registry().Digest(),
		Members: countAlive(g.node.Members()), Peers: len(g.node.Registry().List()),
	})
}

func countAlive(ms []cluster.Member) int {
	n := 0
	for _, m := range ms {
		if m.State == cluster.StateAlive || m.State == cluster.StateSuspect {
			n++
		}
	}
	return n
}

// markForwarded notes a request forwarded by a peer, so it is served from
// the local catalog only.
func (g *Gateway) markForwarded(c *gin.Context) {
	if from := c.GetHeader(federation.HeaderForwarded); from != "" {
		c.Request = c.Request.WithContext(federation.WithForwarded(c.Request.Context(), from))
	}
	c.Next()
}
