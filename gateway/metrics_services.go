package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serviceMetrics count and time the calls of replicated services, by
// service and provider, and their failovers (federation.Metrics).
type serviceMetrics struct {
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	failovers *prometheus.CounterVec
}

func newServiceMetrics(reg *prometheus.Registry) *serviceMetrics {
	m := &serviceMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_service_calls_total",
			Help: "Attempts of service calls on a provider, by service, provider (node) and outcome (ok, tool_error, error, not_sent, lost).",
		}, []string{"service", "provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpmesh_service_call_duration_seconds", Help: "Latency of service call attempts, by service and provider.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"service", "provider"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_service_failovers_total",
			Help: "Service calls moved on from a provider to the next one, by service and the provider left.",
		}, []string{"service", "provider"}),
	}
	reg.MustRegister(m.calls, m.latency, m.failovers)
	return m
}

func (m *serviceMetrics) call(service, provider, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(service, provider, outcome).Inc()
	m.latency.WithLabelValues(service, provider).Observe(d.Seconds())
}

func (m *serviceMetrics) failover(service, provider string) {
	if m != nil {
		m.failovers.WithLabelValues(service, provider).Inc()
	}
}

func (m fedMetrics) ServiceCall(service, provider, outcome string, d time.Duration) {
	m.svc.call(service, provider, outcome, d)
}
func (m fedMetrics) ServiceFailover(service, provider string) { m.svc.failover(service, provider) }

// serviceCollector reports the services' providers at scrape time: by
// state, and this node's calls in flight to each.
type serviceCollector struct{ g *Gateway }

var (
	svcProvidersDesc = prometheus.NewDesc("mcpmesh_service_providers",
		"Providers of each replicated service by status (online, stale, suspect, offline, left, upstream_down).", []string{"service", "status"}, nil)
	svcInFlightDesc = prometheus.NewDesc("mcpmesh_service_calls_in_flight",
		"This node's service calls in flight, by service and provider.", []string{"service", "provider"}, nil)
)

func (sc *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- svcProvidersDesc
	ch <- svcInFlightDesc
}

func (sc *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range sc.g.fed.Services(context.Background()) {
		states := map[string]int{}
		for _, p := range s.Providers {
			states[p.Status]++
			ch <- prometheus.MustNewConstMetric(svcInFlightDesc, prometheus.GaugeValue, float64(p.InFlight), s.Name, p.Node)
		}
		for st, n := range states {
			ch <- prometheus.MustNewConstMetric(svcProvidersDesc, prometheus.GaugeValue, float64(n), s.Name, st)
		}
	}
}
