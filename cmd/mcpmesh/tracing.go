package main

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceFlushTimeout bounds flushing the spans still buffered at exit.
const traceFlushTimeout = 5 * time.Second

// tracerProvider is the node's tracer provider for --otlp-endpoint
// (service.name the node's name, parent-based sampling at SampleRatio,
// spans batched to the OTLP/HTTP receiver), and stop, which flushes and
// ends it; nil and a no-op without an endpoint. This is the one place
// OpenTelemetry's globals are touched: its error handler logs to log.
func (t traceConfig) tracerProvider(ctx context.Context, name string, log *slog.Logger) (trace.TracerProvider, func(), error) {
	if t.Endpoint == "" {
		return nil, func() {}, nil
	}
	endpoint, err := t.tracesURL()
	if err != nil {
		return nil, nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, nil, err
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", name), attribute.String("service.version", version)))
	if err != nil {
		return nil, nil, err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing: export failed", "err", err) }))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(newSpanBatcher(exp, log)), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.SampleRatio))))
	log.Info("tracing: spans go to the OTLP receiver", "endpoint", endpoint, "sample_ratio", t.SampleRatio)
	return tp, func() { stopTracing(tp, log) }, nil
}

// stopTracing flushes the spans still buffered and ends tp, within
// traceFlushTimeout.
func stopTracing(tp *sdktrace.TracerProvider, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn("tracing: flushing spans at exit", "err", err)
	}
}
