package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// recorded is a tracer provider whose spans are kept in memory.
func recorded(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp
}

// endedSpans waits until n spans have ended and returns them.
func endedSpans(t *testing.T, sr *tracetest.SpanRecorder, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	wait.For(t, 5*time.Second, func() bool { return len(sr.Ended()) >= n }, "%d spans to end", n)
	return sr.Ended()
}

func attrOf(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if a.Key == attribute.Key(key) {
			return a.Value.String()
		}
	}
	return ""
}

const (
	tpMeta   = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tpHeader = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// TestServerSpanContinuesCaller: the span of a request the node serves
// continues the caller's trace: params._meta.traceparent (SEP-414) first,
// else the traceparent header, else a new trace; it is named after the
// method and tool and carries them as attributes.
func TestServerSpanContinuesCaller(t *testing.T) {
	sr, tp := recorded(t)
	hs, _, _ := newTestServer(t, mcp.ServerOptions{Tracing: mcp.NewTracing(tp)})
	tests := []struct {
		name, meta, header string
		want               string // the parent's traceparent; "" for a new trace
	}{
		{"_meta", tpMeta, "", tpMeta},
		{"header", "", tpHeader, tpHeader},
		{"_meta wins over the header", tpMeta, tpHeader, tpMeta},
		{"a bad _meta falls back to the header", "00-zz-yy-01", tpHeader, tpHeader},
		{"none: a new trace", "", "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}
			if tt.meta != "" {
				params["_meta"] = map[string]any{"traceparent": tt.meta, "tracestate": "mm=meta"}
			}
			postJSON(t, hs.URL, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params},
				map[string]string{"traceparent": tt.header, "tracestate": "mm=header"})
			s := endedSpans(t, sr, i+1)[i]
			if s.Name() != "tools/call echo" || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want server span \"tools/call echo\"", s.Name(), s.SpanKind())
			}
			if attrOf(s, mcp.AttrMethod) != "tools/call" || attrOf(s, mcp.AttrToolName) != "echo" || attrOf(s, mcp.AttrOutcome) != "" {
				t.Errorf("attributes %v, want method tools/call, tool echo and no outcome (ok)", s.Attributes())
			}
			parent := s.Parent()
			if state := map[string]string{tpMeta: "mm=meta", tpHeader: "mm=header"}[tt.want]; s.SpanContext().TraceState().String() != state {
				t.Errorf("tracestate %q, want %q (the caller's, from where its traceparent came)", s.SpanContext().TraceState(), state)
			}
			switch {
			case tt.want == "" && parent.IsValid():
				t.Errorf("parent %v, want a new trace", parent)
			case tt.want != "" && (parent.TraceID().String() != tt.want[3:35] || parent.SpanID().String() != tt.want[36:52]):
				t.Errorf("parent %s/%s, want the caller's %s", parent.TraceID(), parent.SpanID(), tt.want)
			}
		})
	}
}

// postJSON POSTs body as a plain JSON-RPC request with header (a "" value
// is not sent) and checks it is answered 200.
func postJSON(t *testing.T, url string, body any, header map[string]string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
}

// addTraceTool gives the HTTP upstream a tool "trace" answering the trace
// context its request carried: "meta=<_meta.traceparent> header=<header>".
func addTraceTool(s *upHTTPServer) {
	s.srv.AddTool(&sdk.Tool{Name: "trace", InputSchema: upObject}, func(_ context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		meta, _ := r.Params.Meta["traceparent"].(string)
		text := "meta=" + meta + " header=" + r.Extra.Header.Get("traceparent")
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text}}}, nil
	})
}

// TestUpstreamCallCarriesTraceContext: a call to an upstream is a client
// span, child of the caller's, and the upstream gets that span as its
// traceparent in params._meta and (over HTTP) in the header, replacing the
// one the caller sent; without tracing the caller's _meta.traceparent goes
// through as it was, and no header is added.
func TestUpstreamCallCarriesTraceContext(t *testing.T) {
	srv := newUpHTTPServer(t, "")
	addTraceTool(srv)
	sr, tp := recorded(t)
	params := `{"name":"trace","arguments":{},"_meta":{"traceparent":"` + tpMeta + `"}}`

	t.Run("traced", func(t *testing.T) {
		u := upStart(t, srv.config(), mcp.UpstreamOptions{Tracing: mcp.NewTracing(tp)})
		ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
		out, err := u.Call(ctx, &mcp.Request{Method: "tools/call", Params: json.RawMessage(params)})
		parent.End()
		text, isErr := upToolText(t, out)
		if err != nil || isErr {
			t.Fatalf("call: %v %s", err, out)
		}
		var up sdktrace.ReadOnlySpan
		for _, s := range endedSpans(t, sr, 2) {
			if s.SpanKind() == trace.SpanKindClient {
				up = s
			}
		}
		if up == nil || up.Name() != "tools/call trace" || up.Parent().SpanID() != parent.SpanContext().SpanID() || attrOf(up, mcp.AttrUpstream) != "web" {
			t.Fatalf("upstream span %v, want client span \"tools/call trace\" under the caller's, upstream web", up)
		}
		want := "00-" + up.SpanContext().TraceID().String() + "-" + up.SpanContext().SpanID().String() + "-01"
		if text != "meta="+want+" header="+want {
			t.Errorf("upstream saw %q, want the upstream call's span %s in _meta and header", text, want)
		}
	})
	// A node serving the upstream's tool, traced: the request's span must
	// reach the upstream call on every path a request takes.
	tracing := mcp.NewTracing(tp)
	cat := mcp.NewCatalog("n1", nil)
	if err := cat.Add("web", "", upStart(t, srv.config(), mcp.UpstreamOptions{Tracing: tracing})); err != nil {
		t.Fatal(err)
	}
	node := mcp.NewServer(cat, mcp.ServerOptions{Tracing: tracing})
	hs := httptest.NewServer(node.Handler())
	t.Cleanup(func() { hs.Close(); node.Close() })
	t.Run("traced, a 2026-07-28 caller's held call", func(t *testing.T) {
		before := len(sr.Ended())
		q := req2026{method: "tools/call", params: map[string]any{"name": "trace", "arguments": map[string]any{}}, hdr: map[string]string{"traceparent": tpHeader}}
		text, _ := upToolText(t, answer(t, q.send(t, hs.URL)).Result)
		checkUpstreamSaw(t, sr, before, tpHeader, text)
	})
	t.Run("traced, a session caller (SSE answer)", func(t *testing.T) {
		before := len(sr.Ended())
		cs := connectVersion(t, hs.URL, nil, "2025-11-25")
		res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "trace", Arguments: map[string]any{}, Meta: sdk.Meta{"traceparent": tpMeta}})
		if err != nil || len(res.Content) != 1 {
			t.Fatalf("call: %v %+v", err, res)
		}
		checkUpstreamSaw(t, sr, before, tpMeta, res.Content[0].(*sdk.TextContent).Text)
	})
	t.Run("not traced", func(t *testing.T) {
		u := upStart(t, srv.config(), mcp.UpstreamOptions{})
		out, err := upCall(t, u, nil, "tools/call", params)
		if text, _ := upToolText(t, out); err != nil || text != "meta="+tpMeta+" header=" {
			t.Errorf("upstream saw %q (%v), want the caller's _meta.traceparent as sent and no header", text, err)
		}
	})
}

// checkUpstreamSaw finds the upstream call's span among the spans ended
// after before, checks it is in the caller's trace (traceparent caller),
// and that the upstream saw it (text) in _meta and in the header.
func checkUpstreamSaw(t *testing.T, sr *tracetest.SpanRecorder, before int, caller, text string) {
	t.Helper()
	var up sdktrace.ReadOnlySpan
	wait.For(t, 5*time.Second, func() bool {
		for _, s := range sr.Ended()[before:] {
			if s.SpanKind() == trace.SpanKindClient {
				up = s
			}
		}
		return up != nil
	}, "the upstream call's span to end")
	if up.SpanContext().TraceID().String() != caller[3:35] {
		t.Fatalf("upstream span in trace %s, want the caller's %s", up.SpanContext().TraceID(), caller)
	}
	want := "00-" + up.SpanContext().TraceID().String() + "-" + up.SpanContext().SpanID().String() + "-01"
	if text != "meta="+want+" header="+want {
		t.Errorf("upstream saw %q, want the upstream call's span %s in _meta and header", text, want)
	}
}
