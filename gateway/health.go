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
// file's upstreams, and 503 before that and from the start of Close.
func (g *Gateway) readiness(c *gin.Context) {
	switch {
	case g.closing.Load():
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "shutting down", "error": "node is shutting down"})
	case !g.ready.Load():
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "starting", "error": "node is starting its upstream servers"})
	default:
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}
