package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Caching hints on 2026-07-28 results (see docs/mcp-transport.md). Every
// list and read answer depends on the caller (federated peers, trust, and
// the per-principal rules to come), so all are "private"; a list stays
// fresh for ListTTL (a subscriptions/listen stream hears of a change at
// once), a resource read is immediately stale (its content is the
// upstream's, whose freshness the node cannot know); server/discover is the
// same for everyone.
const (
	ListTTL     = 30_000 // ms
	ReadTTL     = 0      // ms
	DiscoverTTL = 300_000
)

// serveStateless answers one 2026-07-28 request: no session, the
// per-request _meta checked, the answer as JSON or, when notifications
// come first, as an SSE stream.
func (s *Server) serveStateless(w http.ResponseWriter, r *http.Request, m *Message) {
	rm, err := checkStateless(r.Header, m)
	if err == nil && m.Method == "tools/call" {
		err = s.checkParamHeaders(r.Context(), r.Header, m)
	}
	if err != nil {
		writeMessage(w, http.StatusBadRequest, NewErrorResponse(m.ID, err))
		return
	}
	if m.Method == "subscriptions/listen" {
		s.serveListen(w, r, m)
		return
	}
	rp := &statelessReply{w: w, s: s, sse: accepts(r, "text/event-stream")}
	peer := &statelessClient{reply: rp, meta: rm, id: "request-" + randomHex(), done: r.Context().Done(), start: time.Now()}
	ctx, note := withCallNote(r.Context())
	res, callErr := s.serveModern(ctx, peer, m)
	if callErr != nil && r.Context().Err() != nil {
		s.report(ctx, note, m, nil, errCancelled, peer.elapsed())
		return // the caller went away: that is the cancellation
	}
	s.report(ctx, note, m, res, callErr, peer.elapsed())
	if callErr != nil {
		e := modernError(m, s.asError(m.Method, callErr))
		rp.finish(statelessStatus(e.Code), NewErrorResponse(m.ID, e))
		return
	}
	rp.finish(http.StatusOK, NewResponse(m.ID, res))
}

// serveModern answers a 2026-07-28 method. The methods the revision removed
// (initialize, ping, logging/setLevel, resources/subscribe and
// resources/unsubscribe) are unknown to it.
func (s *Server) serveModern(ctx context.Context, peer Client, m *Message) (json.RawMessage, error) {
	var res json.RawMessage
	var err error
	switch m.Method {
	case "server/discover":
		return s.decorate(s.discoverResult(), DiscoverTTL, "public")
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
		res, err = s.serve(ctx, nil, peer, m.stripped())
		return s.decorateCacheable(res, err, ListTTL)
	case "resources/read":
		res, err = s.serveSealed(ctx, peer, m)
		return s.decorateCacheable(res, err, ReadTTL)
	case "tools/call", "prompts/get":
		res, err = s.serveSealed(ctx, peer, m)
		if err != nil {
			return nil, err
		}
		return s.decorate(res, -1, "")
	case "completion/complete":
		res, err = s.serve(ctx, nil, peer, m.stripped())
		if err != nil {
			return nil, err
		}
		return s.decorate(res, -1, "")
	}
	return nil, Errorf(CodeMethodNotFound, "method not found: %s (in protocol version %s)", m.Method, StatelessVersion)
}

// serveSealed serves a method that may answer input_required. For a
// caller that is not another node (see WithRelayed), the request's
// requestState is opened before dispatch and an input_required answer's
// is sealed (see requeststate.go); a node's hop request carries the inner
// state, which the entry node sealed and opened.
func (s *Server) serveSealed(ctx context.Context, peer Client, m *Message) (json.RawMessage, error) {
	sm := m.stripped()
	if relayed(ctx) {
		return s.serve(ctx, nil, peer, sm)
	}
	params, err := s.states.openParams(ctx, m, sm.Params)
	if err != nil {
		return nil, err
	}
	if !sameBytes(params, sm.Params) {
		sm = &Message{Method: m.Method, Params: params}
	}
	res, err := s.serve(ctx, nil, peer, sm)
	if err != nil {
		return nil, err
	}
	return s.states.sealResult(ctx, m, params, res)
}

func (s *Server) decorateCacheable(res json.RawMessage, err error, ttl int) (json.RawMessage, error) {
	if err != nil {
		return nil, err
	}
	return s.decorate(res, ttl, "private")
}

// decorate adds what every 2026-07-28 result carries: resultType
// ("complete" unless the result says otherwise), the node's serverInfo in
// _meta and, for a complete cacheable result (ttl >= 0), ttlMs and
// cacheScope.
//
// It splices the fields into the result's bytes: the result is not decoded.
func (s *Server) decorate(res json.RawMessage, ttl int, scope string) (json.RawMessage, error) {
	var resultType, meta []byte
	if t := bytes.TrimSpace(res); len(t) > 0 && string(t) != "null" {
		if !isObject(t) {
			return nil, Errorf(CodeInternalError, "internal error: a result is not a JSON object: %.40s", t)
		}
		eachField(t, func(k string, v []byte) bool {
			switch k {
			case "resultType":
				resultType = v
			case "_meta":
				meta = v
			}
			return true
		})
	}
	set := make([]jsonField, 0, 4)
	if resultType == nil {
		resultType = json.RawMessage(`"complete"`)
		set = append(set, jsonField{key: "resultType", val: resultType})
	}
	set = append(set, jsonField{key: "_meta", val: s.metaWithServerInfo(meta)})
	if ttl >= 0 && string(resultType) == `"complete"` {
		sc, _ := json.Marshal(scope)
		set = append(set, jsonField{key: "ttlMs", val: strconv.AppendInt(nil, int64(ttl), 10)}, jsonField{key: "cacheScope", val: sc})
	}
	out, _ := withFields(res, set...)
	return out, nil
}

// metaWithServerInfo is a result's _meta with the node's serverInfo (a
// _meta that is not an object is replaced).
func (s *Server) metaWithServerInfo(meta []byte) json.RawMessage {
	info := s.serverInfoJSON()
	if out, ok := withFields(meta, jsonField{key: MetaServerInfo, val: info}); ok {
		return out
	}
	out, _ := withFields(nil, jsonField{key: MetaServerInfo, val: info})
	return out
}

func (s *Server) serverInfo() map[string]string {
	return map[string]string{"name": s.opts.NodeName, "version": s.opts.Version}
}

// serverInfoJSON is serverInfo encoded, once.
func (s *Server) serverInfoJSON() json.RawMessage {
	s.infoOnce.Do(func() { s.infoJSON, _ = json.Marshal(s.serverInfo()) })
	return s.infoJSON
}

// discoverResult is the answer to server/discover (before decorate).
func (s *Server) discoverResult() json.RawMessage {
	res := map[string]any{"supportedVersions": AllVersions, "capabilities": s.capabilities()}
	if s.opts.Instructions != "" {
		res["instructions"] = s.opts.Instructions
	}
	b, _ := json.Marshal(res)
	return b
}

// modernError is e as a 2026-07-28 caller gets it: a missing resource is
// invalid params (-32602, with the uri in data), not the legacy -32002.
func modernError(m *Message, e *Error) *Error {
	if e.Code != CodeResourceNotFound {
		return e
	}
	out := &Error{Code: CodeInvalidParams, Message: e.Message, Data: e.Data}
	if out.Data == nil {
		uri, _ := nameOf(m)
		out.Data = map[string]string{"uri": uri}
	}
	return out
}

// statelessStatus is the HTTP status a 2026-07-28 error is answered with.
func statelessStatus(code int) int {
	switch code {
	case CodeMethodNotFound:
		return http.StatusNotFound
	case CodeHeaderMismatch, CodeMissingRequiredCapability, CodeUnsupportedProtocolVersion,
		CodeInvalidRequest, CodeParseError:
		return http.StatusBadRequest
	}
	return http.StatusOK
}
