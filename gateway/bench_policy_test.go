package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// benchRules is how many access rules BenchmarkPolicy writes.
const benchRules = 1000

// BenchmarkPolicy measures what the access rules cost: the first page
// (100 tools) of tools/list out of the 10,000 tools a node federates from
// its peer, and a forwarded call (judged on the entry node and again on
// the owning node), on a pair of nodes with no rules and on a pair with
// 1,000 rules (user and group principals, prefix globs, a few denies), by
// a caller that is neither admin nor unrestricted. Each op sends one
// request to each pair, alternately, so that the load of a shared machine
// falls on both alike; it reports both latencies and x-no-rules, the
// ratio of the rules pair's to the no-rules pair's.
func BenchmarkPolicy(b *testing.B) {
	plain := benchPolicyPair(b, "plain", false)
	ruled := benchPolicyPair(b, "ruled", true)
	caller := userToken(b, "u8", "", []string{"g3", "g7"})
	for _, tc := range []struct{ name, body string }{
		{"list-page", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`},
		{"forwarded-call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__t00800","arguments":{}}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			hc := &http.Client{}
			b.Cleanup(hc.CloseIdleConnections)
			var took [2]time.Duration
			for b.Loop() {
				for i, n := range []*fedNode{plain, ruled} {
					start := time.Now()
					benchPolicyPost(b, hc, n, caller, tc.body)
					took[i] += time.Since(start)
				}
			}
			b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "ns-no-rules")
			b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "ns-rules")
			b.ReportMetric(float64(took[1])/float64(took[0]), "x-no-rules")
		})
	}
}

// benchPolicyPair starts a node federating a peer "b" of 10,000 tools
// t00000…t09999 and, if rules, writes benchRules rules; it returns the
// node, once it lists them all and its peer holds the rules.
func benchPolicyPair(b *testing.B, name string, rules bool) *fedNode {
	src := rawSource{defs: mcp.Definitions{Tools: rawTools(10000, func(i int) string { return fmt.Sprintf("t%05d", i) })}}
	peer := startFedNode(b, name+"-b", src)
	a := startFedNode(b, name+"-a")
	addFedPeer(b, a, peer, "b", cluster.TrustFull)
	wait.For(b, 30*time.Second, func() bool { return a.list(b).has("b__t09999") }, "%s to list its peer's 10,000 tools", a.name)
	if rules {
		writeBenchRules(b, a)
		wait.For(b, 30*time.Second, func() bool { return len(peer.gw.fed.Rules()) == benchRules }, "the rules to reach %s", peer.name)
	}
	return a
}

// writeBenchRules writes benchRules rules on n: allow rules for users
// u0..u49 and groups g0..g49 over prefixes b__t0NN*, and every 100th a
// deny for everyone.
func writeBenchRules(b *testing.B, n *fedNode) {
	for i := range benchRules {
		r := api.Rule{Name: fmt.Sprintf("bench-%04d", i), Effect: api.RuleAllow,
			Tools: []string{fmt.Sprintf("b__t0%02d*", i%100)}}
		switch {
		case i%100 == 99:
			r.Effect, r.Principals = api.RuleDeny, []string{"*"}
		case i%2 == 0:
			r.Principals = []string{fmt.Sprintf("user:u%d", i%50)}
		default:
			r.Principals = []string{fmt.Sprintf("group:g%d", i%50)}
		}
		if _, err := n.gw.fed.AddRule(r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPolicyPost sends body to n's /mcp with token and checks the answer
// is a result.
func benchPolicyPost(b *testing.B, hc *http.Client, n *fedNode, token, body string) {
	req, _ := http.NewRequest(http.MethodPost, n.url+"/mcp", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"result"`) {
		b.Fatalf("status %d: %s", resp.StatusCode, out)
	}
}
