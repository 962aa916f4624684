package gateway

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
)

// The gateway's error answers: always {"error": "..."} (api.Error), with
// the status that says what was wrong.

// abortJSON answers status with {"error": err} and stops the chain.
func abortJSON(c *gin.Context, status int, err error) {
	c.AbortWithStatusJSON(status, api.Error{Error: err.Error()})
}

func (g *Gateway) noRoute(c *gin.Context) {
	abortJSON(c, http.StatusNotFound, fmt.Errorf("no route for %s %s", c.Request.Method, c.Request.URL.Path))
}

func (g *Gateway) noMethod(c *gin.Context) {
	abortJSON(c, http.StatusMethodNotAllowed, fmt.Errorf("method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
}

// badBody answers a body that could not be read: 408 when it did not
// arrive within the read timeout, else 400.
func (g *Gateway) badBody(c *gin.Context, err error) {
	var slow interface{ Timeout() bool }
	if errors.As(err, &slow) && slow.Timeout() {
		c.Header("Connection", "close")
		abortJSON(c, http.StatusRequestTimeout, fmt.Errorf("request body did not arrive within the read timeout of %s", g.conns.ReadTimeout))
		return
	}
	abortJSON(c, http.StatusBadRequest, fmt.Errorf("reading request body: %w", err))
}

func (g *Gateway) tooLarge(c *gin.Context) {
	c.Header("Connection", "close")
	abortJSON(c, http.StatusRequestEntityTooLarge,
		fmt.Errorf("request body is larger than the limit of %d bytes", g.maxBody))
}
