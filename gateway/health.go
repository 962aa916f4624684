package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// health is liveness: the process answers HTTP.
func (g *Gateway) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readiness is 200 once Start has brought up the store's and the config
// file's upstreams, and 503 before that, from the start of Close, and
// while the ring refuses this node's name (another node id holds it).
func (g *Gateway) readiness(c *gin.Context) {
	switch {
	case g.closing.Load():
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "shutting down", "error": "node is shutting down"})
	case !g.ready.Load():
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "starting", "error": "node is starting its upstream servers"})
	case g.node != nil && g.node.Refused() != nil:
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "refused", "error": g.node.Refused().Error()})
	default:
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}
