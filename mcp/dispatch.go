package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// logLevels are the RFC 5424 levels logging/setLevel accepts.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// handleRequest answers one request and reports it to OnCall. A nil
// result means the request was cancelled and gets no answer.
func (s *Server) handleRequest(ctx context.Context, sess *session, peer Client, m *Message) *Message {
	start := time.Now()
	ctx, note := withCallNote(ctx)
	res, err := s.serve(ctx, sess, peer, m)
	if err == nil && takesInput(m.Method) {
		res, err = s.answerInputRequired(ctx, sess, peer, m, res)
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		s.report(ctx, note, m, nil, errCancelled, time.Since(start))
		return nil
	}
	s.report(ctx, note, m, res, err, time.Since(start))
	if err != nil {
		return NewErrorResponse(m.ID, s.asError(m.Method, err))
	}
	return NewResponse(m.ID, res)
}

// report tells OnCall about a finished request.
func (s *Server) report(ctx context.Context, note *callNote, m *Message, res json.RawMessage, err error, d time.Duration) {
	if s.opts.OnCall == nil && s.opts.Tracing == nil {
		return
	}
	ci := callInfo(m, res, err, d)
	if err == errCancelled {
		ci.Outcome = OutcomeCancelled
	}
	ci.Cancelled = ctx.Err() != nil
	ci.ID, ci.Principal, ci.Relayed = m.ID, PrincipalFrom(ctx), relayed(ctx)
	note.fill(&ci)
	if s.opts.Tracing != nil {
		finishServer(ctx, &ci)
	}
	if s.opts.OnCall != nil {
		s.opts.OnCall(ci)
	}
}

// OutcomeCancelled is CallInfo.Outcome of a request the client cancelled
// or left before its answer (none was sent).
const OutcomeCancelled = "cancelled"

var errCancelled = errors.New("request cancelled")

// asError is err as the client sees it: an *Error as it is, anything
// else an internal error whose cause is logged here, not sent (it may
// name addresses and the error chain of the node's own connections).
func (s *Server) asError(method string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	s.log.Warn("mcp: request failed", "method", method, "err", err)
	return Errorf(CodeInternalError, "internal error: %s failed on this node (its log says why)", method)
}

// serve answers the protocol's own methods and hands the rest to the Backend.
func (s *Server) serve(ctx context.Context, sess *session, peer Client, m *Message) (json.RawMessage, error) {
	switch m.Method {
	case "initialize":
		return nil, Errorf(CodeInvalidRequest, "invalid request: initialize is only allowed once, without a session id")
	case "ping":
		return json.RawMessage("{}"), nil
	case "logging/setLevel":
		return setLevel(sess, m.Params)
	case "tools/list":
		return s.list(ctx, KindTool, m.Params)
	case "prompts/list":
		return s.list(ctx, KindPrompt, m.Params)
	case "resources/list":
		return s.list(ctx, KindResource, m.Params)
	case "resources/templates/list":
		return s.list(ctx, KindResourceTemplate, m.Params)
	case "tools/call", "prompts/get", "resources/read", "resources/subscribe",
		"resources/unsubscribe", "completion/complete":
		v := m.paramsView()
		if err := checkParams(m.Method, v); err != nil {
			return nil, err
		}
		return s.backend.Call(ctx, &Request{Method: m.Method, Params: m.Params, Client: peer, view: v})
	}
	return nil, Errorf(CodeMethodNotFound, "method not found: %s", m.Method)
}

func setLevel(sess *session, params json.RawMessage) (json.RawMessage, error) {
	var p struct {
		Level string `json:"level"`
	}
	if err := json.Unmarshal(params, &p); err != nil || !slices.Contains(logLevels, p.Level) {
		return nil, Errorf(CodeInvalidParams, "invalid params: level must be one of %v", logLevels)
	}
	if sess != nil {
		sess.logLevel.Store(p.Level)
	}
	return json.RawMessage("{}"), nil
}

// checkParams validates the shape every backend relies on: an object with
// the method's key field, and for tools/call an object of arguments.
func checkParams(method string, v *ParamsView) error {
	if !v.Object {
		return Errorf(CodeInvalidParams, "invalid params: %s needs a params object", method)
	}
	key, ok := "uri", v.URI != ""
	switch method {
	case "tools/call", "prompts/get":
		key, ok = "name", v.Name != ""
	case "completion/complete":
		key, ok = "ref", len(v.Ref) > 0 && v.Ref[0] == '{'
	}
	if !ok {
		return Errorf(CodeInvalidParams, "invalid params: %s needs %q", method, key)
	}
	if method == "tools/call" || method == "prompts/get" {
		if v.Arguments != nil && !isObjectOrNull(v.Arguments) {
			return Errorf(CodeInvalidParams, `invalid params: "arguments" must be an object`)
		}
	}
	return nil
}

func isObjectOrNull(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '{' || string(raw) == "null")
}

// callInfo summarises a finished request for OnCall.
func callInfo(m *Message, res json.RawMessage, err error, d time.Duration) CallInfo {
	v := m.paramsView()
	ci := CallInfo{Method: m.Method, Name: v.Name + v.URI, Duration: d, Outcome: "ok"}
	if err != nil {
		ci.Outcome = "error"
		var e *Error
		if errors.As(err, &e) {
			ci.Code = e.Code
			ci.Meta = errorMeta(e.Data)
		}
		return ci
	}
	if m.Method != "tools/call" {
		return ci
	}
	var meta []byte
	eachField(res, func(k string, val []byte) bool {
		switch k {
		case "_meta":
			meta = val
		case "isError":
			if string(val) == "true" {
				ci.Outcome = "tool_error"
			}
		}
		return true
	})
	ci.Meta = callMeta(jsonString(field(meta, MetaSource)), jsonString(field(meta, "mcpmesh/error")))
	return ci
}

// errorMeta is CallInfo.Meta of a JSON-RPC error whose data holds the
// mcpmesh keys (a failure of the mesh for a method other than tools/call).
func errorMeta(data any) map[string]any {
	d, _ := data.(map[string]any)
	source, _ := d[MetaSource].(string)
	kind, _ := d["mcpmesh/error"].(string)
	return callMeta(source, kind)
}

// callMeta is CallInfo.Meta: the mcpmesh keys a result's _meta had.
func callMeta(source, errKind string) map[string]any {
	if source == "" && errKind == "" {
		return nil
	}
	m := map[string]any{}
	if source != "" {
		m[MetaSource] = source
	}
	if errKind != "" {
		m["mcpmesh/error"] = errKind
	}
	return m
}

// initializeResult is the answer to initialize for the negotiated version.
func (s *Server) initializeResult(version string) json.RawMessage {
	res := map[string]any{
		"protocolVersion": version,
		"capabilities":    s.capabilities(),
		"serverInfo":      map[string]any{"name": s.opts.Name, "version": s.opts.Version},
	}
	if s.opts.Instructions != "" {
		res["instructions"] = s.opts.Instructions
	}
	b, _ := json.Marshal(res)
	return b
}

// capabilities are the node's server capabilities, in every version.
func (s *Server) capabilities() map[string]any {
	return map[string]any{
		"tools":       map[string]any{"listChanged": true},
		"prompts":     map[string]any{"listChanged": true},
		"resources":   map[string]any{"listChanged": true, "subscribe": true},
		"logging":     map[string]any{},
		"completions": map[string]any{},
	}
}

// negotiate picks the version for a client that offered v.
func negotiate(v string) string {
	if slices.Contains(SupportedVersions, v) {
		return v
	}
	return SupportedVersions[0]
}
