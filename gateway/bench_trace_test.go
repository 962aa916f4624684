package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// BenchmarkForwardTracedInProcess is BenchmarkForwardInProcess's forwarded
// call with tracing off and on (every trace sampled, spans exported over
// OTLP/HTTP to a receiver in this process that drops them), for profiling
// what tracing costs (-cpuprofile). It batches with the SDK's
// BatchSpanProcessor: the node's own batcher (cmd/mcpmesh/spanbatch.go) and
// real processes are BenchmarkForwardTraced's, in cmd/mcpmesh.
func BenchmarkForwardTracedInProcess(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(sink.Close)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for _, tc := range []struct {
		name   string
		traced bool
	}{{"off", false}, {"on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			tune := func(*Config) {}
			if tc.traced {
				tune = func(c *Config) { c.TracerProvider = tp }
			}
			a, peer := startFedNodeWith(b, "a-"+tc.name, tune), startFedNodeWith(b, "b-"+tc.name, tune)
			addFedPeer(b, a, peer, "b", cluster.TrustFull)
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":"bench"}}}`
			benchPosts(b, a.url+"/mcp", body, map[string]string{"Authorization": "Bearer " + a.admin})
		})
	}
}
