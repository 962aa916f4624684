package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestRingMetrics scrapes a node after a forwarded call: members by state,
// peers by status and trust, tools per peer and forwarded calls by outcome.
func TestRingMetrics(t *testing.T) {
	a := startFedNode(t, "gw-a")
	b := startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", "full")
	if res := a.call(t, "b__whoami"); res.text() != "gw-b" {
		t.Fatalf("b__whoami answered %q", res.text())
	}
	r := a.do(t, http.MethodGet, "/metrics", "", "")
	if r.code != http.StatusOK {
		t.Fatalf("/metrics: %d", r.code)
	}
	for _, want := range []string{
		`mcpmesh_members{state="alive"} 2`,
		`mcpmesh_peers{status="online",trust="full"} 1`,
		`mcpmesh_federated_tools{peer="b"} 4`,
		`mcpmesh_forwarded_calls_total{method="tools/call",outcome="ok",peer="b"} 1`,
		`mcpmesh_forwarded_call_duration_seconds_count{outcome="ok",peer="b"} 1`,
		`mcpmesh_registry_records 1`,
		`mcpmesh_gossip_keys 1`,
		`mcpmesh_tools{source="b"} 4`,
		`mcpmesh_tools{source="gw-a"} 4`,
		`mcpmesh_ring_events_total{event="member-join"}`,
		`mcpmesh_ring_events_total{event="registry-changed"}`,
		`mcpmesh_catalog_pulls_total{peer="b"}`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
