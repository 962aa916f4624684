package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// maxBody bounds one POSTed message when no outer limit applies.
const maxBody = 8 << 20

// headerSession is the Streamable HTTP session header.
const headerSession = "Mcp-Session-Id"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := s.checkOrigin(r); msg != "" {
		writeHTTPError(w, http.StatusForbidden, msg)
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.servePOST(w, r)
	case http.MethodGet:
		s.serveGET(w, r)
	case http.MethodDelete:
		s.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeHTTPError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use POST, GET or DELETE")
	}
}

func (s *Server) servePOST(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		var slow interface{ Timeout() bool }
		switch {
		case errors.As(err, &tooBig):
			writeHTTPError(w, http.StatusRequestEntityTooLarge, "request body is larger than the limit")
			return
		case errors.As(err, &slow) && slow.Timeout():
			writeHTTPError(w, http.StatusRequestTimeout, "request body did not arrive within the read timeout")
			return
		}
		writeHTTPError(w, http.StatusBadRequest, "cannot read request body: "+err.Error())
		return
	}
	m, jerr := DecodeMessage(body)
	if jerr != nil {
		writeMessage(w, http.StatusBadRequest, NewErrorResponse(idOf(m), jerr))
		return
	}
	if s.opts.Tracing != nil && m.IsRequest() {
		ctx, span := s.opts.Tracing.startServer(r.Context(), r.Header, m)
		defer span.End()
		r = r.WithContext(ctx)
	}
	sid := r.Header.Get(headerSession)
	switch {
	case isStateless(r, m):
		s.serveStateless(w, r, m)
	case m.Method == "initialize" && m.IsRequest():
		s.initialize(w, r, m, sid)
	case sid == "":
		s.serveSessionless(w, r, m)
	default:
		s.serveInSession(w, r, m, sid)
	}
}

func idOf(m *Message) json.RawMessage {
	if m == nil {
		return nil
	}
	return m.ID
}

// serveSessionless answers a request without a session, always as JSON.
func (s *Server) serveSessionless(w http.ResponseWriter, r *http.Request, m *Message) {
	if !m.IsRequest() {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	resp := s.handleRequest(r.Context(), nil, noClient{done: r.Context().Done()}, m)
	if resp == nil {
		return
	}
	writeMessage(w, http.StatusOK, resp)
}

func (s *Server) initialize(w http.ResponseWriter, r *http.Request, m *Message, sid string) {
	if sid != "" {
		writeMessage(w, http.StatusBadRequest, NewErrorResponse(m.ID,
			Errorf(CodeInvalidRequest, "invalid request: initialize must not carry an Mcp-Session-Id")))
		return
	}
	var p struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.ProtocolVersion == "" {
		writeMessage(w, http.StatusOK, NewErrorResponse(m.ID,
			Errorf(CodeInvalidParams, `invalid params: initialize needs "protocolVersion"`)))
		return
	}
	version := negotiate(p.ProtocolVersion)
	sess := newSession(r.Context(), s.ids.Mint(), version, p.Capabilities)
	if !s.addSession(w, sess) {
		return
	}
	w.Header().Set(headerSession, sess.id)
	writeMessage(w, http.StatusOK, NewResponse(m.ID, s.initializeResult(version)))
}

// addSession admits sess within the session bounds, closing the sessions
// evicted for it; when it cannot, it answers 503 with Retry-After.
func (s *Server) addSession(w http.ResponseWriter, sess *session) bool {
	evicted, err := s.admit(sess)
	for _, v := range evicted {
		s.log.Debug("mcp session evicted for a new one", "session", v.sess.id, "owner", v.sess.owner.Subject, "bound", v.bound)
		v.sess.close()
		s.sessionBound(v.bound, true)
	}
	var bound *BoundError
	if errors.As(err, &bound) {
		s.sessionBound(bound.Bound, false)
	}
	if err != nil {
		sess.cancel()
		s.log.Debug("mcp session refused", "owner", sess.owner.Subject, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(SessionRetryAfter))
		writeHTTPError(w, http.StatusServiceUnavailable, err.Error())
		return false
	}
	return true
}

func (s *Server) sessionBound(bound string, evicted bool) {
	if s.opts.OnSessionBound != nil {
		s.opts.OnSessionBound(bound, evicted)
	}
}

func (s *Server) serveInSession(w http.ResponseWriter, r *http.Request, m *Message, sid string) {
	sess, ok := s.lookup(w, r, sid)
	if !ok {
		return
	}
	defer sess.release()
	switch {
	case m.IsResponse():
		sess.answer(m)
		w.WriteHeader(http.StatusAccepted)
	case m.IsNotification():
		s.clientNotification(sess, m)
		w.WriteHeader(http.StatusAccepted)
	case accepts(r, "text/event-stream"):
		s.serveSSERequest(w, r, sess, m)
	default:
		s.serveJSONRequest(w, r, sess, m)
	}
}

// lookup finds the session named by the request, taken for its use
// (release it when done), and checks its protocol version header; it
// answers the error itself when there is one.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, sid string) (*session, bool) {
	sess := s.ownedSession(sid, PrincipalFrom(r.Context()))
	if sess == nil {
		writeMessage(w, http.StatusNotFound, NewErrorResponse(nil,
			Errorf(CodeInvalidRequest, "session not found: %q is unknown or has ended; initialize a new session", sid)))
		return nil, false
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(SupportedVersions, v) {
		sess.release()
		writeHTTPError(w, http.StatusBadRequest, "unsupported MCP-Protocol-Version "+v+": supported are "+strings.Join(SupportedVersions, ", "))
		return nil, false
	}
	sess.touch()
	return sess, true
}

func (s *Server) clientNotification(sess *session, m *Message) {
	if m.Method != "notifications/cancelled" {
		return
	}
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	if json.Unmarshal(m.Params, &p) == nil && p.RequestID != nil {
		sess.cancelRequest(p.RequestID)
	}
}

// serveJSONRequest answers a session request as one JSON body; the request
// ends if the client goes away.
func (s *Server) serveJSONRequest(w http.ResponseWriter, r *http.Request, sess *session, m *Message) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer sess.track(m.ID, cancel)()
	resp := s.handleRequest(ctx, sess, &sessionClient{s: sess}, m)
	if resp == nil {
		resp = NewErrorResponse(m.ID, Errorf(CodeInternalError, "request cancelled"))
	}
	writeMessage(w, http.StatusOK, resp)
}

// serveSSERequest answers a session request on its own SSE stream. The
// request runs on the session's context, not the HTTP request's: a client
// that drops the stream can resume it with GET and Last-Event-ID. The
// headers go out with the first event (see openSSE), so a client that
// leaves before that cancels the request.
func (s *Server) serveSSERequest(w http.ResponseWriter, r *http.Request, sess *session, m *Message) {
	st := sess.newRequestStream()
	ctx, cancel := context.WithCancel(sess.ctx)
	if s.opts.Tracing != nil { // the request's span, from the POST that carried it
		ctx = trace.ContextWithSpan(ctx, trace.SpanFromContext(r.Context()))
	}
	untrack := sess.track(m.ID, cancel)
	s.wg.Add(1)
	s.workers.run(func() {
		defer s.wg.Done()
		defer cancel()
		defer untrack()
		if resp := s.handleRequest(ctx, sess, &sessionClient{s: sess, st: st}, m); resp != nil {
			st.send(resp)
		}
		st.finish()
	})
	sw := s.openSSE(w, http.Header{headerSession: {sess.id}})
	_ = st.follow(r.Context(), sw, 0)
	if !sw.flushed && r.Context().Err() != nil {
		cancel() // the client left before the stream began: it has no event id to resume it with
	}
}

func (s *Server) serveGET(w http.ResponseWriter, r *http.Request) {
	if !accepts(r, "text/event-stream") {
		writeHTTPError(w, http.StatusNotAcceptable, "GET needs Accept: text/event-stream")
		return
	}
	sid := r.Header.Get(headerSession)
	if sid == "" {
		writeHTTPError(w, http.StatusBadRequest, "GET needs an Mcp-Session-Id header")
		return
	}
	sess, ok := s.lookup(w, r, sid)
	if !ok {
		return
	}
	defer sess.release()
	st, seq, msg := s.resumePoint(sess, r.Header.Get("Last-Event-ID"))
	if st == nil {
		writeHTTPError(w, http.StatusBadRequest, msg)
		return
	}
	s.followGET(w, r, sess, st, seq)
}

// resumePoint is the stream and position a GET continues from: the
// standalone stream from now on, or the stream named by Last-Event-ID.
func (s *Server) resumePoint(sess *session, last string) (*stream, int, string) {
	if last == "" {
		st := sess.standalone()
		return st, st.last(), ""
	}
	id, seq, err := parseEventID(last)
	if err != nil {
		return nil, 0, err.Error()
	}
	st := sess.stream(id)
	if st == nil {
		return nil, 0, "Last-Event-ID " + last + " names a stream that no longer exists"
	}
	return st, seq, ""
}

func (s *Server) followGET(w http.ResponseWriter, r *http.Request, sess *session, st *stream, seq int) {
	if st.id == 0 {
		if !sess.claimGET() {
			writeHTTPError(w, http.StatusConflict, "this session already has an open GET stream")
			return
		}
		defer sess.releaseGET()
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(sess.ctx, cancel)
	defer stop()
	sw := s.startSSE(w, http.Header{headerSession: {sess.id}})
	_ = st.follow(ctx, sw, seq)
}

func (s *Server) serveDELETE(w http.ResponseWriter, r *http.Request) {
	sid := r.Header.Get(headerSession)
	if sid == "" {
		writeHTTPError(w, http.StatusBadRequest, "DELETE needs an Mcp-Session-Id header")
		return
	}
	if p := PrincipalFrom(r.Context()); !s.removeSession(sid, &p) {
		writeMessage(w, http.StatusNotFound, NewErrorResponse(nil,
			Errorf(CodeInvalidRequest, "session not found: %q", sid)))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accepts reports whether the request's Accept header admits mediaType.
func accepts(r *http.Request, mediaType string) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			t, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(t), mediaType) {
				return true
			}
		}
	}
	return false
}

func writeMessage(w http.ResponseWriter, status int, m *Message) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(m)
}

// writeHTTPError answers a transport-level failure as {"error": msg}.
func writeHTTPError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
