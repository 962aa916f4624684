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
	ev := buildBinaries(t).everything
	gossip := []string{"--gossip", "127.0.0.1:0"}
	b := startNode(t, nodeOptions{name: "conformance-b", extra: gossip, servers: map[string]serverEntry{"everything": {Command: ev}}})
	a := startNode(t, nodeOptions{name: "conformance-a", extra: gossip})
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, a).has("b__test_simple_text") }, "A to list B's tools")
	return tokenProxy(t, a.url, a.token) + "/mcp/peers/b"
}

// hopCallerCaps is why an input_required scenario fails through the hop:
// node A sends the call to the owning node B as a 2026-07-28 POST (the
// hop), and B holds the upstream's server request for the caller (as
// through one node), but the hop's _meta declares no client capabilities
// (mcp.StatelessParams sends {}), so B refuses to hold a request the caller
// did not declare the capability for: the upstream's sampling, elicitation
// or roots request fails and so does the tool. Carrying the caller's
// capabilities (and the retry's requestState) across the hop is issue 10
// item 2's hop part.
const hopCallerCaps = "the hop's _meta declares clientCapabilities {} instead of the caller's, so the owning node " +
	"refuses to hold the upstream's server request for it (issue 10 item 2, MRTR across the hop)"

// hop2026Suite is the 2026-07-28 suite through /mcp/peers/{peer}.
var hop2026Suite = hopSuite(suite2026, hopExpected2026())

func hopExpected2026() map[string]string {
	out := map[string]string{}
	for _, name := range []string{"input-required-result-basic-elicitation", "input-required-result-basic-sampling",
		"input-required-result-basic-list-roots", "input-required-result-request-state", "input-required-result-multiple-input-requests",
		"input-required-result-multi-round", "input-required-result-non-tool-request", "input-required-result-result-type",
		"input-required-result-tampered-state", "input-required-result-capability-check"} {
		out[name] = hopCallerCaps
	}
	return out
}

func TestConformanceHop2026(t *testing.T) {
	runConformance(t, hop2026Suite, conformanceHop(t))
}
