package mcp

import (
	"fmt"
	"net/http"
)

// sseWriter writes Server-Sent Events to an HTTP response and flushes each.
type sseWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
}

// startSSE sends the SSE response headers (status 200).
func startSSE(w http.ResponseWriter, h http.Header) *sseWriter {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	s := &sseWriter{w: w, flusher: f}
	s.flush()
	return s
}

func (s *sseWriter) flush() {
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// event writes one "message" event with the given id.
func (s *sseWriter) event(id string, data []byte) error {
	if _, err := fmt.Fprintf(s.w, "id: %s\nevent: message\ndata: %s\n\n", id, data); err != nil {
		return fmt.Errorf("write sse event: %w", err)
	}
	s.flush()
	return nil
}

// comment writes an SSE comment line (a keep-alive the client ignores).
func (s *sseWriter) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return fmt.Errorf("write sse comment: %w", err)
	}
	s.flush()
	return nil
}
