package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// listServices is GET /api/services: the replicated services this node
// lists and their providers (docs/services.md). A node without a ring
// shows its own providers only.
func (g *Gateway) listServices(c *gin.Context) {
	if g.fed != nil {
		c.JSON(http.StatusOK, g.fed.Services(c.Request.Context()))
		return
	}
	c.JSON(http.StatusOK, g.localServices())
}

// localServices describes the node's own providers, for a node without a
// ring.
func (g *Gateway) localServices() []api.Service {
	out := []api.Service{}
	for _, s := range g.catalog.Services() {
		tools := g.serviceTools(s.Service)
		status := api.ProviderOnline
		if !s.Up {
			status = api.ProviderDown
		}
		out = append(out, api.Service{Name: s.Service, Tools: tools, Providers: []api.ServiceProvider{
			{Node: g.name, Status: status, Tools: tools, SchemaMismatch: []string{}}}})
	}
	return out
}

// serviceTools lists the local tools of service, sorted.
func (g *Gateway) serviceTools(service string) []string {
	l, _ := g.catalog.List(context.Background(), mcp.KindTool, mcp.ListOptions{})
	tools := []string{}
	for _, it := range l.Items {
		if strings.HasPrefix(it.Key, service+"__") && mcp.ServiceOf(it.JSON) == service {
			tools = append(tools, it.Key)
		}
	}
	slices.Sort(tools)
	return tools
}
