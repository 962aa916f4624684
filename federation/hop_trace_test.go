package federation

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// tracePeer is a peer's /mcp that records the trace context of each POST
// (header and params._meta) and answers an empty tool result.
type tracePeer struct {
	mu   sync.Mutex
	seen [][2]string // header, _meta traceparent
}

func (p *tracePeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Params struct {
			Meta map[string]any `json:"_meta"`
		} `json:"params"`
	}
	_ = json.Unmarshal(body, &m)
	meta, _ := m.Params.Meta["traceparent"].(string)
	p.mu.Lock()
	p.seen = append(p.seen, [2]string{r.Header.Get("traceparent"), meta})
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}}`)
}

// TestHopCarriesTraceContext: a forwarded request is a client span, child
// of the caller's, and the POST to the peer carries that span as its
// traceparent in the header and in params._meta, replacing the caller's,
// on both ways a hop is sent (pooled inline connections, net/http).
func TestHopCarriesTraceContext(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	f := startEngine(t, "entry", memstore.New())
	f.cfg.Tracing = mcp.NewTracing(tp)
	f.tokens.where = nil // the test's peer is no ring member
	peer := &tracePeer{}
	srv := httptest.NewServer(peer)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/mcp")
	params := json.RawMessage(`{"name":"echo","arguments":{},"_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`)
	for i, inline := range []bool{true, false} {
		name := map[bool]string{true: "inline", false: "net/http"}[inline]
		t.Run(name, func(t *testing.T) {
			l := &peerLink{f: f, rec: cluster.PeerRecord{Name: "b", Member: "b"}, endpoint: u, inline: inline}
			l.entries.Store(buildEntries("b", mcp.Definitions{}))
			ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
			_, err := f.roundTrip(ctx, l, &mcp.Request{Method: "tools/call", Params: params})
			caller.End()
			if err != nil {
				t.Fatalf("hop: %v", err)
			}
			hop := sr.Ended()[2*i]
			if hop.SpanKind() != trace.SpanKindClient || hop.Name() != "tools/call echo" || hop.Parent().SpanID() != caller.SpanContext().SpanID() {
				t.Fatalf("hop span %q kind %v parent %v, want client span \"tools/call echo\" under the caller's", hop.Name(), hop.SpanKind(), hop.Parent().SpanID())
			}
			want := "00-" + hop.SpanContext().TraceID().String() + "-" + hop.SpanContext().SpanID().String() + "-01"
			peer.mu.Lock()
			got := peer.seen[i]
			peer.mu.Unlock()
			if got != [2]string{want, want} {
				t.Errorf("peer saw traceparent header %q and _meta %q, want the hop's span %s in both", got[0], got[1], want)
			}
		})
	}
}
