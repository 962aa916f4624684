package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// sessionMetrics count what the MCP session bounds did and how many
// sessions are open, so that a flood of initialize shows on /metrics.
type sessionMetrics struct {
	bounds *prometheus.CounterVec // by bound and action
}

// registerSessionMetrics adds the session series to reg.
func (g *Gateway) registerSessionMetrics(reg *prometheus.Registry) {
	g.sessionMetrics = &sessionMetrics{bounds: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpmesh_mcp_session_bound_total",
		Help: "MCP sessions evicted (action evicted) and initialize calls refused with 503 (action refused) at a session bound.",
	}, []string{"bound", "action"})}
	reg.MustRegister(g.sessionMetrics.bounds, &sessionCollector{g: g})
}

// sessionBound is the mcp.Server's OnSessionBound hook.
func (m *sessionMetrics) sessionBound(bound string, evicted bool) {
	action := "refused"
	if evicted {
		action = "evicted"
	}
	m.bounds.WithLabelValues(bound, action).Inc()
}

var sessionsDesc = prometheus.NewDesc("mcpmesh_mcp_sessions",
	"Open MCP sessions by pool: clients, or nodes (other nodes' links).", []string{"pool"}, nil)

// sessionCollector reads the open sessions at scrape time.
type sessionCollector struct{ g *Gateway }

func (c *sessionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sessionsDesc }

func (c *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	clients, nodes := c.g.mcp.SessionCounts()
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(clients), "clients")
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(nodes), "nodes")
}
