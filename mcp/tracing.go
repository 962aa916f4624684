package mcp

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes the spans of the requests a node serves and sends, and
// carries their W3C trace context (traceparent, tracestate) in HTTP
// headers and in params._meta (SEP-414). A nil *Tracing traces nothing:
// every method does nothing and costs a nil check.
type Tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// TracerName is the instrumentation scope of mcpmesh's spans.
const TracerName = "github.com/mcpmesh/mcpmesh"

// NewTracing is the Tracing of tp; nil for a nil tp (no tracing).
func NewTracing(tp trace.TracerProvider) *Tracing {
	if tp == nil {
		return nil
	}
	return &Tracing{tracer: tp.Tracer(TracerName), prop: propagation.TraceContext{}}
}

// Span attribute keys (the OpenTelemetry semantic conventions for MCP,
// and mcpmesh's own).
const (
	AttrMethod    = "mcp.method.name"
	AttrToolName  = "gen_ai.tool.name"
	AttrPrompt    = "gen_ai.prompt.name"
	AttrURI       = "mcp.resource.uri"
	AttrErrorType = "error.type"
	AttrOutcome   = "mcpmesh.outcome"
	AttrSource    = "mcpmesh.source"
	AttrProvider  = "mcpmesh.provider"
	AttrRelayed   = "mcpmesh.relayed"
	AttrPeer      = "mcpmesh.peer"
	AttrUpstream  = "mcpmesh.upstream"
	AttrTransport = "mcpmesh.transport"
)

// startServer starts the span of a request m the node serves. It
// continues the caller's trace: params._meta.traceparent (SEP-414) when
// valid, else the traceparent header.
func (t *Tracing) startServer(ctx context.Context, h http.Header, m *Message) (context.Context, trace.Span) {
	v := m.paramsView()
	parent := t.prop.Extract(ctx, metaCarrier(v.Meta))
	if !trace.SpanContextFromContext(parent).IsValid() {
		parent = t.prop.Extract(ctx, propagation.HeaderCarrier(h))
	}
	return t.tracer.Start(parent, SpanName(m.Method, v), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(requestAttrs(m.Method, v)...))
}

// StartClient starts the span of a request the node sends on for
// method (a forward to a peer, a call to an upstream server), with the
// attributes of its params v and attrs. End it with EndClient.
func (t *Tracing) StartClient(ctx context.Context, method string, v *ParamsView, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	attrs = append(requestAttrs(method, v), attrs...)
	return t.tracer.Start(ctx, SpanName(method, v), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndClient ends a client span: an error, or a tools/call result with
// isError, marks it failed.
func EndClient(span trace.Span, res json.RawMessage, err error) {
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String(AttrErrorType, errorType(err)))
	case string(field(res, "isError")) == "true":
		span.SetStatus(codes.Error, "tool_error")
		span.SetAttributes(attribute.String(AttrErrorType, "tool_error"))
	}
	span.End()
}

// errorType is the error.type of err: its JSON-RPC code, or "error".
func errorType(err error) string {
	if e, ok := err.(*Error); ok {
		return strconv.Itoa(e.Code)
	}
	return "error"
}

// finishServer notes how a served request ended on its span: its outcome
// when not "ok", the peer or service that served it, whether another node
// sent it. (Each attribute is paid for on every span exported: only what
// tells something is set.)
func finishServer(ctx context.Context, ci *CallInfo) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	if ci.Outcome != "ok" {
		attrs = append(attrs, attribute.String(AttrOutcome, ci.Outcome))
	}
	if ci.Relayed {
		attrs = append(attrs, attribute.Bool(AttrRelayed, true))
	}
	if ci.Source != "" {
		attrs = append(attrs, attribute.String(AttrSource, ci.Source))
	}
	if ci.Provider != "" {
		attrs = append(attrs, attribute.String(AttrProvider, ci.Provider))
	}
	switch ci.Outcome {
	case "error":
		span.SetStatus(codes.Error, "JSON-RPC error "+strconv.Itoa(ci.Code))
		attrs = append(attrs, attribute.String(AttrErrorType, strconv.Itoa(ci.Code)))
	case "tool_error":
		span.SetStatus(codes.Error, "tool_error")
		attrs = append(attrs, attribute.String(AttrErrorType, "tool_error"))
	}
	if len(attrs) > 0 {
		span.SetAttributes(attrs...)
	}
}

// SpanName is a request's span name: its method and, when it has one, the
// tool or prompt name or the resource URI ("tools/call echo").
func SpanName(method string, v *ParamsView) string {
	if target := v.Name + v.URI; target != "" {
		return method + " " + target
	}
	return method
}

// requestAttrs are the attributes of a request for method with params v.
func requestAttrs(method string, v *ParamsView) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, attribute.String(AttrMethod, method))
	switch {
	case method == "tools/call" && v.Name != "":
		attrs = append(attrs, attribute.String(AttrToolName, v.Name))
	case method == "prompts/get" && v.Name != "":
		attrs = append(attrs, attribute.String(AttrPrompt, v.Name))
	case v.URI != "":
		attrs = append(attrs, attribute.String(AttrURI, v.URI))
	}
	return attrs
}

// InjectHeader sets the traceparent (and tracestate) headers of ctx's
// span on h; nothing when ctx has no span.
func (t *Tracing) InjectHeader(ctx context.Context, h http.Header) {
	if t != nil {
		t.prop.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// InjectMeta is params with params._meta.traceparent (and tracestate) of
// ctx's span, replacing those the caller sent; params as they are when ctx
// has no span or params is not an object with an object _meta or none.
func (t *Tracing) InjectMeta(ctx context.Context, params json.RawMessage) json.RawMessage {
	if t == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return params
	}
	sc := trace.SpanContextFromContext(ctx)
	set := []jsonField{{key: "traceparent", val: traceparentJSON(sc)}, {key: "tracestate", val: jsonText(sc.TraceState().String())}}
	meta, ok := withFields(field(params, "_meta"), set...)
	if !ok {
		return params
	}
	if out, ok := withFields(params, jsonField{key: "_meta", val: meta}); ok {
		return out
	}
	return params
}

// traceparentJSON is sc's W3C traceparent as a JSON string (what
// propagation.TraceContext writes: version 00, the sampled flag only).
func traceparentJSON(sc trace.SpanContext) json.RawMessage {
	tid, sid := sc.TraceID(), sc.SpanID()
	b := make([]byte, 0, 58)
	b = append(b, `"00-`...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	if sc.IsSampled() {
		return append(b, `-01"`...)
	}
	return append(b, `-00"`...)
}

// jsonText is s as a JSON string; nil (the key dropped) for "".
func jsonText(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	b, _ := json.Marshal(s)
	return b
}

// metaCarrier reads the trace context keys of a request's _meta.
type metaCarrier json.RawMessage

func (m metaCarrier) Get(key string) string { return jsonString(field(m, key)) }

func (m metaCarrier) Set(string, string) {}

func (m metaCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }
