package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestSpanBatcher: a full batch is exported without waiting for the
// interval; spans past the queue bound are dropped and the drop logged;
// Shutdown exports what is left; spans not sampled are not exported.
func TestSpanBatcher(t *testing.T) {
	exp := keptSpans{tracetest.NewInMemoryExporter()}
	var logs testlog.Buffer
	b := &spanBatcher{exp: exp, log: slog.New(slog.NewTextHandler(&logs, nil)), maxBatch: 4, maxQueue: 6, interval: time.Hour,
		full: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	end := func(n int) {
		for range n {
			_, s := tp.Tracer("test").Start(context.Background(), "s")
			s.End()
		}
	}
	end(4) // a full batch: exported at once, not after the hour
	wait.For(t, 5*time.Second, func() bool { return len(exp.GetSpans()) == 4 }, "a full batch to be exported; %d were", wait.Later(func() any { return len(exp.GetSpans()) }))
	b.exportMu.Lock() // hold the exporter: the next spans queue up
	end(8)            // 6 queued (a batch of 4 wakes the loop, which waits), 2 dropped
	b.exportMu.Unlock()
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b), sdktrace.WithSampler(sdktrace.NeverSample()))
	_, s := unsampled.Tracer("test").Start(context.Background(), "not sampled")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(exp.GetSpans()); got != 4+6 {
		t.Errorf("%d spans exported, want 10 (4, then 6 of 8 with 2 dropped, none unsampled)", got)
	}
	wait.For(t, 5*time.Second, func() bool { return logs.Count("dropped=2") == 1 }, "the drop to be logged:\n%s", &logs)
}

// keptSpans is an in-memory exporter whose spans outlive its Shutdown.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }
