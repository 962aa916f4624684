package mcp

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultSSEKeepAlive is how often an open SSE stream gets a comment line
// unless ServerOptions.SSEKeepAlive says otherwise.
const DefaultSSEKeepAlive = 15 * time.Second

// sseWriter writes Server-Sent Events to an HTTP response and flushes each.
// Each write must end within writeTimeout (when set), so a client that
// stopped reading is noticed; between writes the connection has no write
// deadline, as a stream may stay quiet for long.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	keepAlive    time.Duration // a comment line this often; <= 0: none
	writeTimeout time.Duration
	flushed      bool // something (the headers at least) reached the client
}

// startSSE sends the SSE response headers (status 200) at once: a GET's
// stream may stay quiet for long.
func (s *Server) startSSE(w http.ResponseWriter, h http.Header) *sseWriter {
	sw := s.openSSE(w, h)
	_ = sw.within(sw.flush)
	return sw
}

// openSSE readies an SSE response whose headers (status 200) go out with
// its first event or keep-alive comment, as go-sdk's server does for a
// POST's stream: a quick answer is then one write to the client, not two.
func (s *Server) openSSE(w http.ResponseWriter, h http.Header) *sseWriter {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK) // held in net/http's buffer until the first flush
	return &sseWriter{w: w, rc: http.NewResponseController(w),
		keepAlive: s.opts.SSEKeepAlive, writeTimeout: s.opts.WriteTimeout}
}

// within runs one write under the write deadline, then lifts it.
func (s *sseWriter) within(write func() error) error {
	if s.writeTimeout > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		defer func() { _ = s.rc.SetWriteDeadline(time.Time{}) }()
	}
	return write()
}

func (s *sseWriter) flush() error {
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	s.flushed = true
	return nil
}

// write writes one formatted piece of the stream and flushes it.
func (s *sseWriter) write(what, format string, args ...any) error {
	err := s.within(func() error {
		if _, err := fmt.Fprintf(s.w, format, args...); err != nil {
			return err
		}
		return s.flush()
	})
	if err != nil {
		return fmt.Errorf("write sse %s: %w", what, err)
	}
	return nil
}

// event writes one "message" event with the given id.
func (s *sseWriter) event(id string, data []byte) error {
	return s.write("event", "id: %s\nevent: message\ndata: %s\n\n", id, data)
}

// message writes one "message" event without an id (2026-07-28 streams
// are not resumable).
func (s *sseWriter) message(data []byte) error {
	return s.write("event", "event: message\ndata: %s\n\n", data)
}

// comment writes an SSE comment line (a keep-alive the client ignores).
func (s *sseWriter) comment(text string) error {
	return s.write("comment", ": %s\n\n", text)
}

// ticks is a channel that ticks every keepAlive (nil: never) and its stop.
func (s *sseWriter) ticks() (<-chan time.Time, func()) {
	if s.keepAlive <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(s.keepAlive)
	return t.C, t.Stop
}
