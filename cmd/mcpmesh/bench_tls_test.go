package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// BenchmarkForwardTLS compares a forwarded call (the demo echo, a no-op)
// over HTTPS with the same call over plain HTTP, by bare sessionless POSTs
// (keep-alive) at 1 and 8 concurrent callers, and by one go-sdk client
// negotiating 2026-07-28. Four nodes of one ring (each trusting the test CA):
// P (plain) federates a plain node as "b" and an HTTPS node as "bt"; T
// (HTTPS) sees the same peers. "hop" compares P's bt__echo with its
// b__echo (only the node-to-node hop differs); "all" compares T's bt__echo
// with P's b__echo (the client's connection to the entry node is HTTPS
// too). Each https side
// reports p50_ratio, p99_ratio and tput_ratio over its plain side. The goal
// is p50_ratio ≤ 1.2: connections (and TLS sessions) are reused, no
// handshake per call.
func BenchmarkForwardTLS(b *testing.B) {
	plain, tlsEntry, procs := benchTLSRing(b)
	tool := benchForwardTools[0]
	for _, kc := range []struct {
		kind string
		c    int
	}{{"bare", 1}, {"bare", 8}, {"stateless", 1}} {
		b.Run(fmt.Sprintf("hop/%s/c%d", kc.kind, kc.c), func(b *testing.B) {
			benchPair(b, tool, kc.kind, kc.c, benchTarget{"http", plain, "b__echo", procs}, benchTarget{"https", plain, "bt__echo", procs})
		})
		b.Run(fmt.Sprintf("all/%s/c%d", kc.kind, kc.c), func(b *testing.B) {
			benchPair(b, tool, kc.kind, kc.c, benchTarget{"http", plain, "b__echo", procs}, benchTarget{"https", tlsEntry, "bt__echo", procs})
		})
	}
}

// benchTLSRing starts the four nodes of BenchmarkForwardTLS and returns
// the two entry nodes, each federating its peers, and all four processes
// (whose CPU time per call the sides report).
func benchTLSRing(b *testing.B) (plain, tlsEntry *node, procs []benchProc) {
	ca := newTestCA(b, "bench CA")
	start := func(name string, demo bool, files *nodeTLS, extra ...string) *node {
		return startNode(b, nodeOptions{name: name, demo: demo, tls: files,
			extra: append([]string{"--gossip", "127.0.0.1:0", "--log-level", "warn", "--tls-ca", ca.file}, extra...)})
	}
	bPlain := start("bench-bp", true, nil)
	bTLS := start("bench-bt", true, ca.node(b, 2))
	plain = start("bench-p", false, nil)
	benchFederate(b, plain, bPlain, "b", benchWhoami(b, plain, "b__whoami", bPlain.name))
	benchFederate(b, plain, bTLS, "bt", benchWhoami(b, plain, "bt__whoami", bTLS.name))
	// the peer registry is the ring's: T, joined, federates bt too
	tlsEntry = start("bench-t", false, ca.node(b, 3), "--join", ringInfo(b, plain).GossipAddress)
	wait.For(b, benchRingTimeout, benchWhoami(b, tlsEntry, "bt__whoami", bTLS.name), "bench-t federating bt")
	procs = []benchProc{{"p", plain.proc}, {"t", tlsEntry.proc}, {"bp", bPlain.proc}, {"bt", bTLS.proc}}
	return plain, tlsEntry, procs
}

// benchWhoami is a readiness check: tool on n answers want.
func benchWhoami(b *testing.B, n *node, tool, want string) func() bool {
	return func() bool {
		r := n.rpc(b, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}})
		var res callResult
		return r.Error == nil && json.Unmarshal(r.Result, &res) == nil && !res.IsError && res.text() == want
	}
}

// benchClientFor is benchHTTPClient trusting what n's own client trusts.
func benchClientFor(n *node) *http.Client {
	hc := benchHTTPClient()
	if n.client != nil {
		hc.Transport.(*http.Transport).TLSClientConfig = n.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	return hc
}
