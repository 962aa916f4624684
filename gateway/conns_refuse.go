package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
)

// refuseLinger bounds answering a refused connection: writing the 429 and
// reading what the client had already sent (so that closing does not reset
// the connection before the client read the answer).
const refuseLinger = time.Second

// refuse answers a connection over the cap with 429 and closes it, off the
// accept loop; with too many being answered already, it just closes it.
func (c *connCap) refuse(nc net.Conn, host string) {
	c.refused.Inc()
	select {
	case c.refusing <- struct{}{}:
	default:
		_ = nc.Close()
		return
	}
	c.log.Debug("connection refused: too many unauthenticated connections", "client", host, "limit", c.max)
	go func() {
		defer func() { <-c.refusing }()
		_ = nc.SetDeadline(time.Now().Add(refuseLinger))
		_, _ = io.WriteString(nc, refusal(host, c.max))
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
		_ = nc.Close()
	}()
}

// refusal is the raw HTTP answer to a refused connection.
func refusal(host string, max int) string {
	body, _ := json.Marshal(api.Error{Error: fmt.Sprintf(
		"too many connections from %s that have not authenticated (limit %d): send a bearer token, or open fewer connections", host, max)})
	return fmt.Sprintf("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}
