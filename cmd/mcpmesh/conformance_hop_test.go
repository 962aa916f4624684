package main

import (
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The conformance suites again through /mcp/peers/{peer} on a second node:
// node B serves the everything-server; node A, whose peer B is, serves B's
// entries under their own names at /mcp/peers/b and forwards every call to
// B (one hop).

// hopSuite is s run through the hop, with its own expected failures.
func hopSuite(s conformanceSuite, expected map[string]string) conformanceSuite {
	s.label += " hop"
	s.expected = expected
	return s
}

// legacyHopSuite is the 0.1.16 suite through /mcp/peers/{peer}.
var legacyHopSuite = hopSuite(legacySuite, map[string]string{})

func TestConformanceHop(t *testing.T) {
	runConformance(t, legacyHopSuite, conformanceHopTo(t, everythingStdio(t, "")))
}

// conformanceHopTo starts node B in front of the everything-server's entry
// and node A with B as its peer "b", and returns the URL of /mcp/peers/b
// on a token-adding proxy in front of A.
func conformanceHopTo(t *testing.T, everything serverEntry) string {
	gossip := []string{"--gossip", "127.0.0.1:0"}
	b := startNode(t, nodeOptions{name: "conformance-b", extra: gossip, servers: map[string]serverEntry{"everything": everything}})
	a := startNode(t, nodeOptions{name: "conformance-a", extra: gossip})
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, a).has("b__test_simple_text") }, "A to list B's tools")
	return tokenProxy(t, a.url, a.token) + "/mcp/peers/b"
}

// hop2026Suite is the 2026-07-28 suite through /mcp/peers/{peer}: the
// hop carries the caller's client capabilities to the owning node B, which
// speaks 2026-07-28 to its everything-server (as through one node); B's
// input_required, with the server's keys, comes back to A, which seals its
// requestState, and the retry's inputResponses and inner state go back to B
// on the hop.
var hop2026Suite = hopSuite(suite2026, map[string]string{})

func TestConformanceHop2026(t *testing.T) {
	runConformance(t, hop2026Suite, conformanceHopTo(t, everythingStdio(t, "2026-07-28")))
}
