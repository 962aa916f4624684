package gateway

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// Bounds are the byte bounds of what upstreams and peers send this node
// (--max-catalog-bytes, --max-result-bytes); zero takes mcp's defaults.
type Bounds struct {
	MaxCatalogBytes int64
	MaxResultBytes  int64
}

func (b Bounds) withDefaults() Bounds {
	if b.MaxCatalogBytes <= 0 {
		b.MaxCatalogBytes = mcp.DefaultMaxCatalogBytes
	}
	if b.MaxResultBytes <= 0 {
		b.MaxResultBytes = mcp.DefaultMaxResultBytes
	}
	return b
}

// boundMetrics count what the byte and count bounds cut.
type boundMetrics struct {
	truncated *prometheus.CounterVec
	tooLarge  *prometheus.CounterVec
	// wrapHTTP is how upstreams reach their HTTP servers, when the node has
	// a federation engine (its inline connections: see
	// federation.Engine.UpstreamTransport); nil: net/http alone.
	wrapHTTP func(http.RoundTripper) http.RoundTripper
}

func newBoundMetrics(reg *prometheus.Registry) *boundMetrics {
	m := &boundMetrics{
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_catalog_truncated_total",
			Help: "Listings of an upstream or a peer (source) that left entries out, by reason: bytes (--max-catalog-bytes) or count (the per-kind caps).",
		}, []string{"source", "reason"}),
		tooLarge: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_results_too_large_total",
			Help: "Answers over --max-result-bytes, not read further and reported as result_too_large, by source (an upstream or a peer).",
		}, []string{"source"}),
	}
	reg.MustRegister(m.truncated, m.tooLarge)
	return m
}

// cut counts a listing of source that left entries out for reason.
func (m *boundMetrics) cut(source, reason string) {
	if m != nil {
		m.truncated.WithLabelValues(source, reason).Inc()
	}
}

// over counts an answer of source over the result bound.
func (m *boundMetrics) over(source string) {
	if m != nil {
		m.tooLarge.WithLabelValues(source).Inc()
	}
}

// upstreamOptions are the bounds and their counters for source's link or
// upstream, and the way it reaches an HTTP server.
func (m *boundMetrics) upstreamOptions(source string, b Bounds) mcp.UpstreamOptions {
	var wrap func(http.RoundTripper) http.RoundTripper
	if m != nil {
		wrap = m.wrapHTTP
	}
	return mcp.UpstreamOptions{
		MaxCatalogBytes: b.MaxCatalogBytes, MaxResultBytes: b.MaxResultBytes,
		OnTruncate:    func(t mcp.Truncation) { m.cut(source, t.Reason) },
		OnTooLarge:    func() { m.over(source) },
		WrapTransport: wrap,
	}
}
