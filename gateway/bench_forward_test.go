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
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tc.tool + `","arguments":{"text":"bench"}}}`
			benchPosts(b, tc.n.url+"/mcp", body, map[string]string{"Authorization": "Bearer " + tc.n.admin})
		})
	}
}

// benchPosts POSTs body to url once per b.Loop, with the JSON content type
// and header, reports allocations, and fails on an answer other than 200.
func benchPosts(b *testing.B, url, body string, header map[string]string) {
	b.ReportAllocs()
	hc := &http.Client{}
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
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
}
