package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// unknownLabel stands for a tool name the catalog does not know: client
// input never becomes a label value, so label cardinality stays bounded.
const unknownLabel = "(unknown)"

// metrics holds the gateway's Prometheus series; all live on one registry.
type metrics struct {
	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec
	mcpRequests  *prometheus.CounterVec
	mcpLatency   *prometheus.HistogramVec
	toolCalls    *prometheus.CounterVec
	toolLatency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpmesh_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		mcpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_mcp_requests_total", Help: "MCP requests by JSON-RPC method and outcome (ok, tool_error, error).",
		}, []string{"method", "outcome"}),
		mcpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpmesh_mcp_request_duration_seconds", Help: "MCP request latency by JSON-RPC method and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "outcome"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpmesh_tool_calls_total", Help: "tools/call requests by tool, source node, local server and outcome.",
		}, []string{"tool", "source", "server", "outcome"}),
		toolLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpmesh_tool_call_duration_seconds", Help: "tools/call latency by source node and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"source", "outcome"}),
	}
	reg.MustRegister(m.httpRequests, m.httpLatency, m.mcpRequests, m.mcpLatency, m.toolCalls, m.toolLatency)
	return m
}

// registerGauges adds the series read at scrape time: build info, catalog
// sizes, upstream states, and the Go runtime and process collectors.
func (g *Gateway) registerGauges(reg *prometheus.Registry) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpmesh_build_info", Help: "Always 1; labels carry the node name and version.",
			ConstLabels: prometheus.Labels{"node": g.name, "version": g.version},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpmesh_requests_in_flight",
			Help: "HTTP requests being served, streams not counted: what a draining node waits for.",
		}, func() float64 { return float64(g.inflight.count()) }),
		&catalogCollector{g: g},
		&upstreamCollector{g: g},
	)
	if g.node != nil {
		reg.MustRegister(&ringCollector{g: g}, &statsCollector{node: g.node}, &serviceCollector{g: g})
	}
}

// observeHTTP records every request by its route pattern (never the raw
// path: unknown paths are counted as "unmatched").
func (g *Gateway) observeHTTP(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	g.metrics.httpRequests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
	g.metrics.httpLatency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// onCall is the MCP server's OnCall hook: metrics and the audit log.
func (g *Gateway) onCall(ci mcp.CallInfo) { g.observeCall("", ci) }

// observeCall counts a finished request, of /mcp or (peer set) of
// /mcp/peers/{peer}, and writes its audit line.
func (g *Gateway) observeCall(peer string, ci mcp.CallInfo) {
	if audited(ci.Method) {
		g.audit.add(g.callRecord(peer, ci))
	}
	if ci.Outcome == mcp.OutcomeCancelled {
		return // unanswered: not counted, as before the audit log
	}
	method := ci.Method
	if !knownMethod(method) {
		method = unknownLabel
	}
	secs := ci.Duration.Seconds()
	g.metrics.mcpRequests.WithLabelValues(method, ci.Outcome).Inc()
	g.metrics.mcpLatency.WithLabelValues(method, ci.Outcome).Observe(secs)
	if ci.Method != "tools/call" {
		return
	}
	tool, source, server := g.toolLabels(peer, ci)
	g.events.calls.record(source, ci.Duration, ci.Outcome != "ok")
	g.metrics.toolCalls.WithLabelValues(tool, source, server, ci.Outcome).Inc()
	g.metrics.toolLatency.WithLabelValues(source, ci.Outcome).Observe(secs)
}

// toolLabels are a call's labels of mcpmesh_tool_calls_total: per tool
// only for the node's own tools (a catalog the node's operator chose);
// a peer's or a service's calls under its name alone, tool
// "(federated)", so that a peer's catalog adds one label set, not one per
// tool; names the node does not know (client input) "(unknown)".
func (g *Gateway) toolLabels(peer string, ci mcp.CallInfo) (tool, source, server string) {
	if ci.Source != "" {
		return federatedLabel, ci.Source, ""
	}
	if peer != "" { // /mcp/peers/{peer} serves only that peer's entries
		return federatedLabel, peer, ""
	}
	if srv, _, ok := g.catalog.Lookup(ci.Name); ok {
		return ci.Name, g.name, srv
	}
	return unknownLabel, unknownLabel, ""
}

// federatedLabel is the tool label of calls served by a peer or a service.
const federatedLabel = "(federated)"

var mcpMethods = map[string]bool{
	"initialize": true, "ping": true, "tools/list": true, "tools/call": true,
	"prompts/list": true, "prompts/get": true, "resources/list": true, "resources/read": true,
	"resources/templates/list": true, "resources/subscribe": true, "resources/unsubscribe": true,
	"logging/setLevel": true, "completion/complete": true,
	"notifications/initialized": true, "notifications/cancelled": true,
	"notifications/progress": true, "notifications/roots/list_changed": true,
}

func knownMethod(m string) bool { return mcpMethods[m] }

// catalogCollector reports the catalog's size per kind at scrape time,
// and the tools this node lists by source: itself and each peer.
type catalogCollector struct{ g *Gateway }

var (
	catalogToolsDesc = prometheus.NewDesc("mcpmesh_catalog_tools",
		"Tools this node lists locally.", nil, nil)
	catalogEntriesDesc = prometheus.NewDesc("mcpmesh_catalog_entries",
		"Entries this node lists locally, by kind.", []string{"kind"}, nil)
	toolsDesc = prometheus.NewDesc("mcpmesh_tools",
		"Tools this node lists, by source: this node's name for its own, a peer's name for the peer's.", []string{"source"}, nil)
)

func (cc *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- catalogToolsDesc
	ch <- catalogEntriesDesc
	ch <- toolsDesc
}

func (cc *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range []mcp.Kind{mcp.KindTool, mcp.KindPrompt, mcp.KindResource, mcp.KindResourceTemplate} {
		l, err := cc.g.catalog.List(context.Background(), k, mcp.ListOptions{})
		if err != nil {
			continue
		}
		n := float64(len(l.Items))
		ch <- prometheus.MustNewConstMetric(catalogEntriesDesc, prometheus.GaugeValue, n, k.String())
		if k == mcp.KindTool {
			ch <- prometheus.MustNewConstMetric(catalogToolsDesc, prometheus.GaugeValue, n)
			ch <- prometheus.MustNewConstMetric(toolsDesc, prometheus.GaugeValue, n, cc.g.name)
		}
	}
	if cc.g.node == nil {
		return
	}
	for _, v := range cc.g.fed.Peers() {
		if v.Tools > 0 {
			ch <- prometheus.MustNewConstMetric(toolsDesc, prometheus.GaugeValue, float64(v.Tools), v.Name)
		}
	}
}

// upstreamCollector reports each upstream's state and entry counts at
// scrape time, so a removed upstream leaves no stale series.
type upstreamCollector struct{ g *Gateway }

var (
	upstreamStateDesc = prometheus.NewDesc("mcpmesh_upstream_state",
		"1 for the current state of each upstream MCP server.", []string{"upstream", "state"}, nil)
	upstreamToolsDesc = prometheus.NewDesc("mcpmesh_upstream_tools",
		"Tools each upstream MCP server offers.", []string{"upstream"}, nil)
	upstreamRestartsDesc = prometheus.NewDesc("mcpmesh_upstream_restarts_total",
		"Times each upstream MCP server was restarted.", []string{"upstream"}, nil)
)

func (uc *upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upstreamStateDesc
	ch <- upstreamToolsDesc
	ch <- upstreamRestartsDesc
}

func (uc *upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range uc.g.servers.list() {
		v := e.view()
		ch <- prometheus.MustNewConstMetric(upstreamStateDesc, prometheus.GaugeValue, 1, v.Name, v.State)
		ch <- prometheus.MustNewConstMetric(upstreamToolsDesc, prometheus.GaugeValue, float64(v.Tools), v.Name)
		ch <- prometheus.MustNewConstMetric(upstreamRestartsDesc, prometheus.CounterValue, float64(v.Restarts), v.Name)
	}
}
