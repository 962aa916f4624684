package gateway

import (
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// deadlines bounds one request in time on its connection: its body (if it
// has one) must arrive within ReadTimeout, and its answer be written within
// WriteTimeout of its first byte. An SSE answer gets no overall write deadline: the MCP
// server bounds each of its writes and keeps it alive with comments. The
// deadlines are per request (not the http.Server's ReadTimeout and
// WriteTimeout), so that a long SSE stream is not cut.
func (g *Gateway) deadlines(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Time{}) // none left from an earlier answer on the connection
	if b := c.Request.Body; b != nil && b != http.NoBody {
		// net/http lifts it once the body has been read to its end, when
		// it starts reading in the background to notice a client leaving.
		_ = rc.SetReadDeadline(time.Now().Add(g.conns.ReadTimeout))
	}
	c.Writer = &deadlineWriter{ResponseWriter: c.Writer, rc: rc, timeout: g.conns.WriteTimeout}
	c.Next()
}

// deadlineWriter sets the write deadline when the answer begins: now plus
// the timeout, or none for an SSE answer.
type deadlineWriter struct {
	gin.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	armed   bool
}

func (w *deadlineWriter) arm() {
	if w.armed {
		return
	}
	w.armed = true
	if !isEventStream(w.Header().Get("Content-Type")) {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func isEventStream(contentType string) bool {
	t, _, _ := mime.ParseMediaType(contentType)
	return t == "text/event-stream"
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) WriteHeaderNow() {
	w.arm()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) WriteString(s string) (int, error) {
	w.arm()
	return w.ResponseWriter.WriteString(s)
}

func (w *deadlineWriter) Flush() {
	w.arm()
	w.ResponseWriter.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
