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
	runConformance(t, legacyHopSuite, conformanceHop(t))
}

// conformanceHop starts node B in front of the everything-server over
// stdio and node A with B as its peer "b", and returns the URL of
// /mcp/peers/b on a token-adding proxy in front of A.
func conformanceHop(t *testing.T) string {
	return conformanceHopTo(t, serverEntry{Command: buildBinaries(t).everything})
}

// conformanceHopTo is conformanceHop with B's upstream entry.
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
// holds its upstream's server requests for the caller as through one node;
// B's input_required comes back to A, which seals its requestState, and
// the retry's inputResponses and inner state go back to B on the hop. The
// one scenario that fails through one node fails here for the same reason.
var hop2026Suite = hopSuite(suite2026, map[string]string{
	"input-required-result-basic-elicitation": keyedInSession,
})

func TestConformanceHop2026(t *testing.T) {
	runConformance(t, hop2026Suite, conformanceHop(t))
}
