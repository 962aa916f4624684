package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// BenchmarkForwardInProcess calls b__echo on a (forwarded to b) and echo
// on b directly with sessionless POSTs, in one process, for profiling the
// forward path (-cpuprofile), with its allocations (both nodes and the
// client, one process); BenchmarkForward in cmd/mcpmesh measures real
// processes.
func BenchmarkForwardInProcess(b *testing.B) {
	a, peer := startFedNode(b, "a"), startFedNode(b, "b")
	addFedPeer(b, a, peer, "b", cluster.TrustFull)
	for _, tc := range []struct {
		name string
		n    *fedNode
		tool string
	}{{"direct", peer, "echo"}, {"forwarded", a, "b__echo"}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tc.tool + `","arguments":{"text":"bench"}}}`
			hc := &http.Client{}
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, tc.n.url+"/mcp", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tc.n.admin)
				req.Header.Set("Content-Type", "application/json")
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
