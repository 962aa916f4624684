package main

import "testing"

// The conformance suites through a node whose upstream is the
// everything-server over Streamable HTTP (and again through a hop to a
// node with that upstream). The 2026-07-28 suite runs against it
// stateless: it then serves 2026-07-28, and the node's calls for
// 2026-07-28 callers reach it as 2026-07-28 requests, so its own
// input_required (its keys, its requestState) passes through and no
// scenario may fail. The legacy suite runs against it stateful: a
// stateless server makes no server requests (sampling, elicitation), so a
// legacy client of it loses those scenarios, directly as through a node.

// suite2026HTTP is suite2026, labelled for the HTTP upstream.
var suite2026HTTP = conformanceSuite{
	label: suite2026.label + " http", script: suite2026.script, args: suite2026.args,
	expected: map[string]string{}, min: suite2026.min,
}

// legacySuiteHTTP is the legacy suite, labelled for the HTTP upstream.
var legacySuiteHTTP = conformanceSuite{
	label: legacySuite.label + " http", script: legacySuite.script, args: legacySuite.args,
	expected: map[string]string{}, min: legacySuite.min,
}

// conformanceNodeHTTP starts a node in front of the everything-server
// over Streamable HTTP and returns the URL of a token-adding proxy in
// front of the node.
func conformanceNodeHTTP(t *testing.T, stateless bool) string {
	_, url := startEverythingHTTPMode(t, stateless)
	n := startNode(t, nodeOptions{name: "conformance-http", servers: map[string]serverEntry{"everything": {URL: url}}})
	return tokenProxy(t, n.url, n.token)
}

func TestConformance2026HTTP(t *testing.T) {
	runConformance(t, suite2026HTTP, conformanceNodeHTTP(t, true)+"/mcp")
}

func TestConformanceHTTP(t *testing.T) {
	runConformance(t, legacySuiteHTTP, conformanceNodeHTTP(t, false)+"/mcp")
}

func TestConformanceHop2026HTTP(t *testing.T) {
	_, url := startEverythingHTTPMode(t, true)
	runConformance(t, hopSuite(suite2026HTTP, map[string]string{}), conformanceHopTo(t, serverEntry{URL: url}))
}

func TestConformanceHopHTTP(t *testing.T) {
	_, url := startEverythingHTTPMode(t, false)
	runConformance(t, hopSuite(legacySuiteHTTP, map[string]string{}), conformanceHopTo(t, serverEntry{URL: url}))
}
