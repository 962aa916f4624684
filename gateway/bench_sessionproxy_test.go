package gateway

import (
	"testing"
)

// BenchmarkSessionProxyInProcess calls echo in a legacy session opened on
// node-a, straight on node-a and through node-b (which proxies it), in one
// process, for profiling the proxy (-cpuprofile), with its allocations;
// BenchmarkSessionProxy in cmd/mcpmesh measures real processes.
func BenchmarkSessionProxyInProcess(b *testing.B) {
	a, via, _ := startSessionRing(b)
	alice := tokenFor(b, "alice@example.com", ScopeMCP, "")
	sid := initSession(b, a.url, alice)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"bench"}}}`
	for _, tc := range []struct {
		name string
		n    *fedNode
	}{{"direct", a}, {"proxied", via}} {
		b.Run(tc.name, func(b *testing.B) {
			benchPosts(b, tc.n.url+"/mcp", body, map[string]string{"Authorization": "Bearer " + alice,
				"Accept": acceptBoth, "Mcp-Session-Id": sid})
		})
	}
}
