package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// The bodies of an upstream's answers, read within a byte bound: a message
// over it is not read further, and the SDK gets in its place a JSON-RPC
// error for the request (upTooLargeCode), which Call turns into
// result_too_large. The session survives: only that answer is lost.

// upTooLargeMessage is the stand-in for an answer to the request with id
// that was larger than limit bytes.
func upTooLargeMessage(id json.RawMessage, limit int64) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{
		"code":    upTooLargeCode,
		"message": fmt.Sprintf("the answer is larger than %d bytes: mcpmesh did not read it", limit),
		"data":    map[string]any{"mcpmesh/error": ErrKindResultTooLarge, "limit": limit},
	}})
	return b
}

// upRequestID is the JSON-RPC id of the request r POSTed (nil if none):
// read again from its body only when an answer was too large.
func upRequestID(r *http.Request) json.RawMessage {
	if r.GetBody == nil {
		return nil
	}
	body, err := r.GetBody()
	if err != nil {
		return nil
	}
	defer body.Close()
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.NewDecoder(body).Decode(&m)
	return m.ID
}

// upBoundedJSON is an application/json answer read whole, up to limit.
type upBoundedJSON struct {
	body  io.ReadCloser
	req   *http.Request
	limit int64
	rd    *bytes.Reader // nil until the first Read
}

func (b *upBoundedJSON) Read(p []byte) (int, error) {
	if b.rd == nil {
		b.rd = bytes.NewReader(b.fill())
	}
	return b.rd.Read(p)
}

func (b *upBoundedJSON) fill() []byte {
	raw, err := io.ReadAll(io.LimitReader(b.body, b.limit+1))
	if err != nil && int64(len(raw)) <= b.limit {
		return raw // the SDK sees the truncated body and fails the request
	}
	if int64(len(raw)) > b.limit {
		return upTooLargeMessage(upRequestID(b.req), b.limit)
	}
	return raw
}

func (b *upBoundedJSON) Close() error { return b.body.Close() }

// upBoundedSSE passes an event stream through one whole event at a time,
// each at most limit bytes (see overLimit). The tap sees what passes.
type upBoundedSSE struct {
	body  io.ReadCloser
	br    *bufio.Reader
	req   *http.Request
	limit int64
	tap   *upTap

	event   []byte // the current event, as read so far
	skip    bool   // the current event is over the bound
	atStart bool   // the next bytes begin a line
	out     []byte // ready to hand out
	err     error  // the body's error, after out is handed out
}

// upSSEBuffer is the read buffer of one answer's event stream: most
// answers are a single small event, and a longer line is read in pieces
// (bufio.ErrBufferFull), so it need not hold a whole event.
const upSSEBuffer = 4 << 10

func newUpBoundedSSE(body io.ReadCloser, req *http.Request, limit int64, tap *upTap) *upBoundedSSE {
	return &upBoundedSSE{body: body, br: bufio.NewReaderSize(body, upSSEBuffer), req: req, limit: limit, tap: tap, atStart: true}
}

func (s *upBoundedSSE) Read(p []byte) (int, error) {
	for len(s.out) == 0 && s.err == nil {
		s.step()
	}
	if len(s.out) == 0 {
		return 0, s.err
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// step reads one line (or a piece of a long one) and acts on it.
func (s *upBoundedSSE) step() {
	chunk, err := s.br.ReadSlice('\n')
	blank := s.atStart && (string(chunk) == "\n" || string(chunk) == "\r\n")
	s.atStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
	switch {
	case blank && s.skip:
		s.skip = false
	case blank:
		s.emit(append(s.event, chunk...))
	case s.skip:
	case int64(len(s.event)+len(chunk)) > s.limit:
		s.overLimit()
		return
	default:
		s.event = append(s.event, chunk...)
	}
	if err != nil && err != bufio.ErrBufferFull {
		if !s.skip {
			s.emit(s.event) // an unfinished event: the SDK decides
		}
		s.err = err
	}
}

// emit hands out a whole event and starts the next.
func (s *upBoundedSSE) emit(ev []byte) {
	s.out = append([]byte(nil), ev...)
	s.event = ev[:0]
	s.tap.feed(s.out)
}

// overLimit acts on an event over the bound. On a POST's stream it stands
// for the answer: the stand-in error is handed out and the stream ends
// there, nothing more of it read. On the standalone stream the event is
// skipped up to its end.
func (s *upBoundedSSE) overLimit() {
	s.event = s.event[:0]
	if s.req.Method != http.MethodPost {
		s.skip = true
		return
	}
	s.emit(append(append([]byte("data: "), upTooLargeMessage(upRequestID(s.req), s.limit)...), "\n\n"...))
	s.err = io.EOF
}

func (s *upBoundedSSE) Close() error { return s.body.Close() }
