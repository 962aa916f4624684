package gateway

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// health is liveness: the process answers HTTP.
func (g *Gateway) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readiness is 200 when notReady has nothing to say, else 503 with its
// status and reason.
func (g *Gateway) readiness(c *gin.Context) {
	if status, reason := g.notReady(); status != "" {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": status, "error": reason})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// notReady says why the node is not ready: before Start has brought up
// the store's and the config file's upstreams, from the start of Close,
// while the ring refuses this node's name (another node id holds it), and
// for its seeds (see seedProblem).
func (g *Gateway) notReady() (status, reason string) {
	switch {
	case g.closing.Load():
		return "shutting down", "node is shutting down"
	case !g.ready.Load():
		return "starting", "node is starting its upstream servers"
	case g.node == nil:
		return "", ""
	case g.node.Refused() != nil:
		return "refused", g.node.Refused().Error()
	}
	return seedProblem(g.node.SeedStatus(), g.node.NumMembers(), time.Now())
}
