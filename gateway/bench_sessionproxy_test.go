package gateway

import (
	"io"
	"net/http"
	"strings"
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
			b.ReportAllocs()
			hc := &http.Client{}
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, tc.n.url+"/mcp", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+alice)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", acceptBoth)
				req.Header.Set("Mcp-Session-Id", sid)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
