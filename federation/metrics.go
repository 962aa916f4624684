package federation

import "time"

// Metrics counts what the engine does. The gateway's Prometheus
// collectors implement it (federation imports no metrics library); nil in
// Config counts nothing.
type Metrics interface {
	// RingEvent counts a ring event (member-join, registry-changed, …).
	RingEvent(event string)
	// CatalogPulled counts a (re)listing of a peer's catalog through its link.
	CatalogPulled(peer string)
	// Forwarded counts and times a request forwarded to a peer, by outcome
	// (ok, tool_error, error, or a federation failure such as peer_offline).
	Forwarded(peer, method, outcome string, d time.Duration)
	// CatalogCut counts a listing of source that left entries out, by
	// reason (mcp.CutBytes, mcp.CutCount).
	CatalogCut(source, reason string)
	// ResultTooLarge counts an answer of source over the result bound.
	ResultTooLarge(source string)
	// ServiceCall counts and times one attempt of a service call on one
	// provider (a node), by outcome: ok, tool_error, error, not_sent
	// (passed on before it ran) or lost (sent, no answer).
	ServiceCall(service, provider, outcome string, d time.Duration)
	// ServiceFailover counts a service call moved on from provider to
	// the next one.
	ServiceFailover(service, provider string)
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) RingEvent(string)                                  {}
func (noMetrics) CatalogPulled(string)                              {}
func (noMetrics) Forwarded(string, string, string, time.Duration)   {}
func (noMetrics) CatalogCut(string, string)                         {}
func (noMetrics) ResultTooLarge(string)                             {}
func (noMetrics) ServiceCall(string, string, string, time.Duration) {}
func (noMetrics) ServiceFailover(string, string)                    {}
