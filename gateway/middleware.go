package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
)

// The gateway's own Gin middleware for every route: panics answered, requests
// logged, bodies bounded. (Auth, deadlines and connection tracking have
// files of their own: auth.go, deadlines.go, conns.go.)

// recovery turns a panic in a handler into a logged 500 JSON answer. The
// connection-abort sentinel of net/http is passed on untouched.
func (g *Gateway) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		g.log.Error("http: handler panic", "method", c.Request.Method, "path", c.Request.URL.Path,
			"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			abortJSON(c, http.StatusInternalServerError, errors.New("internal server error"))
			return
		}
		c.Abort()
	}()
	c.Next()
}

// requestLog logs every request at debug level.
func (g *Gateway) requestLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	if !g.log.Enabled(c.Request.Context(), slog.LevelDebug) {
		return
	}
	g.log.Debug("http request", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "duration", time.Since(start), "remote", c.Request.RemoteAddr)
}

// limitBody reads a request body of at most g.maxBody bytes into memory, so
// that an oversized body is refused with 413 before any handler sees it.
func (g *Gateway) limitBody(c *gin.Context) {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		c.Next()
		return
	}
	if c.Request.ContentLength > g.maxBody {
		g.tooLarge(c)
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, g.maxBody+1))
	_ = c.Request.Body.Close()
	if err != nil {
		g.badBody(c, err)
		return
	}
	if int64(len(body)) > g.maxBody {
		g.tooLarge(c)
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	c.Request.ContentLength = int64(len(body))
	c.Set(bodyKey, body) // for the audit line (audit_events.go)
	c.Next()
}
