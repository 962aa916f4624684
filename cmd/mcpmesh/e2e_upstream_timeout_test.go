package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestUpstreamTimeout: a node whose upstream (another node's demo sleep
// tool, over Streamable HTTP) does not answer within --upstream-timeout
// answers an isError result naming the upstream and the timeout, and
// cancels the call upstream; quick calls to the same upstream still work.
func TestUpstreamTimeout(t *testing.T) {
	hung := startNode(t, nodeOptions{name: "hung", demo: true})
	front := startNode(t, nodeOptions{name: "front", extra: []string{"--upstream-timeout", "500ms"},
		servers: map[string]serverEntry{"slow": {URL: hung.url + "/mcp", Prefix: "slow",
			Headers: map[string]string{"Authorization": "Bearer " + hung.token}}}})
	var res callResult
	front.rpc(t, "tools/call", map[string]any{"name": "slow__sleep", "arguments": map[string]any{"ms": 600000}}).decode(t, &res)
	if !res.IsError || res.Meta["mcpmesh/error"] != "upstream_timeout" || res.Meta["mcpmesh/upstream"] != "slow" ||
		!strings.Contains(res.text(), `upstream "slow"`) || !strings.Contains(res.text(), "500ms") {
		t.Errorf("result %+v; want an isError upstream_timeout naming the upstream and the timeout", res)
	}
	wait.For(t, 20*time.Second, func() bool {
		r := hung.do(t, http.MethodGet, "/metrics", nil, nil)
		return strings.Contains(string(r.body), `mcpmesh_tool_calls_total{outcome="tool_error",server="demo",source="hung",tool="sleep"} 1`)
	}, "waiting for the hung node to see the sleep cancelled")
	var quick callResult
	front.rpc(t, "tools/call", map[string]any{"name": "slow__echo", "arguments": map[string]any{"text": "still here"}}).decode(t, &quick)
	if quick.IsError || quick.text() != "still here" {
		t.Errorf("a quick call after the timeout = %+v", quick)
	}
}
