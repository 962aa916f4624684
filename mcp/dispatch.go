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
func (s *Server) handleRequest(ctx context.Context, sess *session, peer Peer, m *Message) *Message {
	start := time.Now()
	res, err := s.serve(ctx, sess, peer, m)
	if err == nil && takesInput(m.Method) {
		res, err = s.answerInputRequired(ctx, sess, peer, m, res)
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	if s.opts.OnCall != nil {
		s.opts.OnCall(callInfo(m, res, err, time.Since(start)))
	}
	if err != nil {
		return NewErrorResponse(m.ID, asError(err))
	}
	return NewResponse(m.ID, res)
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Errorf(CodeInternalError, "internal error: %v", err)
}

// serve answers the protocol's own methods and hands the rest to the Backend.
func (s *Server) serve(ctx context.Context, sess *session, peer Peer, m *Message) (json.RawMessage, error) {
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
		if err := checkParams(m.Method, m.Params); err != nil {
			return nil, err
		}
		return s.backend.Call(ctx, &Request{Method: m.Method, Params: m.Params, Client: peer})
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
func checkParams(method string, params json.RawMessage) error {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(params, &p); err != nil || p == nil {
		return Errorf(CodeInvalidParams, "invalid params: %s needs a params object", method)
	}
	key := map[string]string{"tools/call": "name", "prompts/get": "name", "completion/complete": "ref"}[method]
	if key == "" {
		key = "uri"
	}
	if !validField(key, p[key]) {
		return Errorf(CodeInvalidParams, "invalid params: %s needs %q", method, key)
	}
	if method == "tools/call" || method == "prompts/get" {
		if a, ok := p["arguments"]; ok && !isObjectOrNull(a) {
			return Errorf(CodeInvalidParams, `invalid params: "arguments" must be an object`)
		}
	}
	return nil
}

func validField(key string, raw json.RawMessage) bool {
	if key == "ref" {
		return len(raw) > 0 && raw[0] == '{'
	}
	var v string
	return json.Unmarshal(raw, &v) == nil && v != ""
}

func isObjectOrNull(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '{' || string(raw) == "null")
}

// callInfo summarises a finished request for OnCall.
func callInfo(m *Message, res json.RawMessage, err error, d time.Duration) CallInfo {
	var p struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	_ = json.Unmarshal(m.Params, &p)
	ci := CallInfo{Method: m.Method, Name: p.Name + p.URI, Duration: d, Outcome: "ok"}
	if err != nil {
		ci.Outcome = "error"
		return ci
	}
	var r struct {
		IsError bool `json:"isError"`
		Meta    struct {
			Source string `json:"mcpmesh/source"`
			Error  string `json:"mcpmesh/error"`
		} `json:"_meta"`
	}
	if m.Method == "tools/call" && json.Unmarshal(res, &r) == nil {
		ci.Meta = callMeta(r.Meta.Source, r.Meta.Error)
		if r.IsError {
			ci.Outcome = "tool_error"
		}
	}
	return ci
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
