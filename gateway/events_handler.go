package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// How /api/events writes: each event must reach the client's connection
// within eventWriteTimeout (else the stream ends), and a comment keeps an
// idle stream alive through proxies every eventKeepAlive.
const (
	eventWriteTimeout = 10 * time.Second
	eventKeepAlive    = 15 * time.Second
)

// serveEvents is GET /api/events (admin token): server-sent events of the
// node's state, a "snapshot" first, then "member", "peers", "rules",
// "tools", "services" when they change and "calls" every second. The
// stream ends when the client leaves, falls too far behind, its token
// expires, or the node drains.
func (g *Gateway) serveEvents(c *gin.Context) {
	sub, ok := g.events.subscribe()
	if !ok {
		refuseDraining(c)
		return
	}
	defer g.events.unsubscribe(sub)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	if err := streamEvents(c, rc, sub); err != nil {
		g.log.Debug("events stream ended", "err", err)
	}
}

// tokenExpiry is when the request's token expires (a channel that never
// fires when it does not say).
func tokenExpiry(c *gin.Context) <-chan time.Time {
	if v, ok := c.Get(claimsKey); ok {
		if cl, ok := v.(*Claims); ok && cl.ExpiresAt != nil {
			return time.After(time.Until(cl.ExpiresAt.Time))
		}
	}
	return nil
}

// streamEvents writes sub's events until one of the ends above, or until
// the token expires (the page then asks again and is refused).
func streamEvents(c *gin.Context, rc *http.ResponseController, sub *eventSub) error {
	keep := time.NewTicker(eventKeepAlive)
	defer keep.Stop()
	expired := tokenExpiry(c)
	for {
		select {
		case <-c.Request.Context().Done():
			return c.Request.Context().Err()
		case <-expired:
			return errors.New("the token expired")
		case e, ok := <-sub.ch:
			if !ok {
				return errors.New("stream dropped: too slow, or the node is draining")
			}
			if err := writeEvent(c, rc, "event: "+e.name+"\ndata: "+string(e.data)+"\n\n"); err != nil {
				return err
			}
		case <-keep.C:
			if err := writeEvent(c, rc, ": keep-alive\n\n"); err != nil {
				return err
			}
		}
	}
}

// writeEvent writes and flushes one event within eventWriteTimeout.
func writeEvent(c *gin.Context, rc *http.ResponseController, s string) error {
	_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if _, err := c.Writer.WriteString(s); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("flush event: %w", err)
	}
	return nil
}
