package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestTraceAcrossHop runs two traced nodes (--otlp-endpoint to a real
// Jaeger) and calls, through node A, tools of node B's upstreams (one
// over stdio, one over HTTP: testdata/traceupstream, which answers the
// trace context it was sent). It reads the traces back from Jaeger's
// query API: each is one trace, with the MCP request's span on A
// continuing the caller's traceparent (from _meta for the first call,
// from the header for the second), A's forward, B's handling of it and
// B's upstream call, each the child of the one before; the upstream got
// the upstream call's span as its traceparent (in _meta; over HTTP in the
// header too). The nodes are stopped before Jaeger is read: the spans
// still batched at exit are flushed.
func TestTraceAcrossHop(t *testing.T) {
	j := startJaeger(t)
	up := buildTraceUpstream(t)
	traced := []string{"--gossip", "127.0.0.1:0", "--otlp-endpoint", j.otlp}
	b := startNode(t, nodeOptions{name: "trace-b", extra: traced, servers: map[string]serverEntry{
		"st": {Command: up, Prefix: "st"}, "ht": {URL: startTraceUpstreamHTTP(t, up), Prefix: "ht"}}})
	a := startNode(t, nodeOptions{name: "trace-a", extra: traced})
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool {
		l := ringList(t, a)
		return l.has("b__st__traceparent") && l.has("b__ht__traceparent")
	}, "A to list B's traceupstream tools")

	viaMeta, viaHeader := newCaller(), newCaller()
	params := map[string]any{"name": "b__st__traceparent", "arguments": map[string]any{},
		"_meta": map[string]any{"traceparent": viaMeta.traceparent()}}
	stdioSeen := tracedText(t, a.rpc(t, "tools/call", params))
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "b__ht__traceparent", "arguments": map[string]any{}}})
	httpSeen := tracedText(t, a.rpcRaw(t, body, map[string]string{"traceparent": viaHeader.traceparent()}))
	a.proc.stopClean(t)
	b.proc.stopClean(t)

	up1 := checkHopTrace(t, j, viaMeta, "st")
	if want := "meta=" + up1 + " header="; stdioSeen != want {
		t.Errorf("stdio upstream saw %q, want %q (the upstream call's span in _meta.traceparent)", stdioSeen, want)
	}
	up2 := checkHopTrace(t, j, viaHeader, "ht")
	if want := "meta=" + up2 + " header=" + up2; httpSeen != want {
		t.Errorf("HTTP upstream saw %q, want %q (the upstream call's span in _meta and in the header)", httpSeen, want)
	}
}

// caller is the trace context a test's caller sends.
type caller struct{ trace, span string }

func newCaller() caller { return caller{trace: randomHex(16), span: randomHex(8)} }

func (c caller) traceparent() string { return "00-" + c.trace + "-" + c.span + "-01" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tracedText is the text of a traceparent tool's successful answer.
func tracedText(t *testing.T, r rpcReply) string {
	t.Helper()
	var res callResult
	r.decode(t, &res)
	if res.IsError {
		t.Fatalf("traceparent tool answered an error: %s", res.text())
	}
	return res.text()
}

// hopSpans are the four spans of a call forwarded from A to B's upstream.
var hopSpans = []struct{ service, kind, op string }{
	{"trace-a", "server", "tools/call b__%s__traceparent"}, // the MCP request on the entry node
	{"trace-a", "client", "tools/call %s__traceparent"},    // the forward
	{"trace-b", "server", "tools/call %s__traceparent"},    // the owning node's handling
	{"trace-b", "client", "tools/call traceparent"},        // the upstream call, by the upstream's own name
}

// checkHopTrace waits for c's trace in Jaeger and checks its four spans,
// each the child of the one before (the first of the caller's span), with
// their attributes; it returns the upstream call's span as a traceparent.
func checkHopTrace(t *testing.T, j *jaeger, c caller, upstream string) string {
	t.Helper()
	var found [4]jaegerSpan
	j.waitTrace(t, c.trace, func(spans []jaegerSpan) bool {
		n := 0
		for i, want := range hopSpans {
			for _, s := range spans {
				if s.service == want.service && s.tag("span.kind") == want.kind && s.OperationName == strings.ReplaceAll(want.op, "%s", upstream) {
					found[i] = s
					n++
				}
			}
		}
		return n == len(hopSpans)
	})
	parent := c.span
	for i, s := range found {
		if s.parent() != parent {
			t.Errorf("span %d %s %q has parent %q, want %q", i, s.service, s.OperationName, s.parent(), parent)
		}
		parent = s.SpanID
	}
	checkTags(t, found[0], map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "b__" + upstream + "__traceparent", "mcpmesh.source": "b"})
	checkTags(t, found[1], map[string]string{"mcpmesh.peer": "b", "gen_ai.tool.name": upstream + "__traceparent"})
	checkTags(t, found[2], map[string]string{"mcpmesh.relayed": "true", "mcpmesh.outcome": ""})
	checkTags(t, found[3], map[string]string{"mcpmesh.upstream": upstream})
	return "00-" + c.trace + "-" + found[3].SpanID + "-01"
}

func checkTags(t *testing.T, s jaegerSpan, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := s.tag(k); got != v {
			t.Errorf("span %s %q: tag %s = %q, want %q", s.service, s.OperationName, k, got, v)
		}
	}
}

// traceUpstream is testdata/traceupstream, built once per test binary.
var traceUpstream = &helperBinary{name: "traceupstream", pkg: "./testdata/traceupstream"}

func buildTraceUpstream(t testing.TB) string { return traceUpstream.build(t) }

// startTraceUpstreamHTTP runs traceupstream over Streamable HTTP on a
// free loopback port and returns its MCP URL.
func startTraceUpstreamHTTP(t testing.TB, bin string) string {
	t.Helper()
	addr := freeAddr(t)
	p := startProc(t, "traceupstream "+addr, bin, "-http", addr)
	wait.For(t, readyTimeout, func() bool { return p.exited() || dialable(addr) },
		"traceupstream on %s to take connections (%s):\n%s", addr, wait.Later(func() any { return p.exitText() }), p.out)
	if p.exited() {
		t.Fatalf("traceupstream on %s exited (%s):\n%s", addr, p.exitText(), p.out.String())
	}
	return "http://" + addr + "/mcp"
}
