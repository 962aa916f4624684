package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Legacy MCP sessions from any node (issue 11, item 1): three nodes of one
// ring behind a round-robin balancer (lbproxy_test.go), so that each request
// of a session lands on another node than the one before; a node that does
// not hold the session proxies it to its owner.

// balancedRing is three nodes of one ring behind a round-robin balancer
// that tries the next node when one refuses the connection or answers 503.
type balancedRing struct {
	nodes []*node
	lb    *lbProxy
}

func startBalancedRing(t *testing.T, prefix string) balancedRing {
	t.Helper()
	a := startMeshNode(t, prefix+"-a")
	gossip := ringInfo(t, a).GossipAddress
	nodes := []*node{a, startMeshNode(t, prefix+"-b", "--join", gossip), startMeshNode(t, prefix+"-c", "--join", gossip)}
	names := []string{a.name, nodes[1].name, nodes[2].name}
	for _, n := range nodes {
		wait.For(t, ringTimeout, func() bool { return slices.Equal(ringAlive(t, n), names) },
			"%s to see %v alive", n.name, names)
	}
	return balancedRing{nodes: nodes, lb: startLB(t, lbOptions{Retry: true}, a.url, nodes[1].url, nodes[2].url)}
}

// mcpURL is the balancer's MCP endpoint.
func (r balancedRing) mcpURL() string { return r.lb.URL + "/mcp/http" }

// byName is the ring's node called name (nil if none).
func (r balancedRing) byName(name string) *node {
	for _, n := range r.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// others are the ring's nodes but the one called name.
func (r balancedRing) others(name string) []*node {
	var out []*node
	for _, n := range r.nodes {
		if n.name != name {
			out = append(out, n)
		}
	}
	return out
}

// sessionNode is the node a session id names (m1.<node>.<random>.<mac>,
// mcp/sessionid.go), "" if it names none.
func sessionNode(sid string) string {
	parts := strings.Split(sid, ".")
	if len(parts) != 4 || parts[0] != "m1" {
		return ""
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	return string(name)
}

// metricSum is the sum of n's samples of family name carrying labels, and
// whether n serves the family at all.
func metricSum(t testing.TB, n *node, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	f := metricsScrape(t, n)[name]
	if f == nil {
		return 0, false
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		if metricsHasLabels(m, labels) {
			sum += metricsValue(m)
		}
	}
	return sum, true
}

const proxyMetric = "mcpmesh_session_proxy_requests_total"

// proxied is n's count of session requests with outcome; the test fails
// if n has no such series.
func proxied(t testing.TB, n *node, outcome string) float64 {
	t.Helper()
	v, ok := metricSum(t, n, proxyMetric, map[string]string{"outcome": outcome})
	if !ok {
		t.Fatalf("%s serves no %s", n.name, proxyMetric)
	}
	return v
}

// proxiedByRing sums the ring's counts of session requests with outcome
// (a node without the series counts none).
func (r balancedRing) proxiedByRing(t testing.TB, outcome string) float64 {
	sum := 0.0
	for _, n := range r.nodes {
		v, _ := metricSum(t, n, proxyMetric, map[string]string{"outcome": outcome})
		sum += v
	}
	return sum
}

// TestBalancedLegacySessions: behind a round-robin balancer over three
// nodes, the official TypeScript and go-sdk clients hold legacy sessions
// (2025-11-25) whose every request lands on another node: initialize,
// list, 30 calls (all run on the session's node), progress, cancellation,
// DELETE. A forged id gets 404 and is proxied nowhere; another principal's
// use of a proxied session gets 404 from the owner. kill -9 of a session's
// node: its id gets 404 from the others, and a new session works.
func TestBalancedLegacySessions(t *testing.T) {
	ring := startBalancedRing(t, "lbs")
	t.Run("typescript sdk", func(t *testing.T) { testBalancedTS(t, ring) })
	t.Run("go-sdk", func(t *testing.T) { testBalancedGoSDK(t, ring) })
	t.Run("forged id", func(t *testing.T) { testForgedSessionID(t, ring) })
	t.Run("another principal", func(t *testing.T) { testProxiedOtherPrincipal(t, ring) })
	t.Run("owner drained", func(t *testing.T) { testOwnerDrained(t, ring) })
	t.Run("owner killed", func(t *testing.T) { testOwnerKilled(t, ring) })
}

// tsSessionSummary is what scripts/ts-session-client.mjs prints.
type tsSessionSummary struct {
	Fatal           string   `json:"fatal"`
	ProtocolVersion string   `json:"protocolVersion"`
	SessionID       string   `json:"sessionId"`
	Tools           []string `json:"tools"`
	Calls           struct {
		Answers map[string]int `json:"answers"`
		Errors  int            `json:"errors"`
	} `json:"calls"`
	Progress struct {
		Values  []float64 `json:"values"`
		IsError bool      `json:"isError"`
		Text    string    `json:"text"`
	} `json:"progress"`
	Cancel struct {
		Cancelled bool   `json:"cancelled"`
		ElapsedMs int    `json:"elapsedMs"`
		Error     string `json:"error"`
	} `json:"cancel"`
	PingAfterCancel bool `json:"pingAfterCancel"`
	Terminated      bool `json:"terminated"`
}

func runTSSession(t *testing.T, url, token string) tsSessionSummary {
	t.Helper()
	var s tsSessionSummary
	runNodeScript(t, requireNodeAssets(t), "ts-session-client.mjs", url, token, &s)
	return s
}

func testBalancedTS(t *testing.T, ring balancedRing) {
	before := ring.proxiedByRing(t, "proxied")
	sleeps := map[string]int{}
	for _, n := range ring.nodes {
		sleeps[n.name] = sleepCalls(t, n)
	}
	s := runTSSession(t, ring.mcpURL(), ring.nodes[0].token)
	t.Logf("balancer sent %v", ring.lb.Sent())
	owner := ring.byName(sessionNode(s.SessionID))
	if owner == nil {
		t.Fatalf("session id %q names no node of the ring", s.SessionID)
	}
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"a legacy session", s.ProtocolVersion == legacyVersion, s.ProtocolVersion},
		{"list: the demo tools", containsAll(s.Tools, "echo", "whoami", "sleep"), s.Tools},
		{"30 calls, all run by the session's node", s.Calls.Errors == 0 && s.Calls.Answers[owner.name] == 30, s.Calls},
		{"progress notifications arrive", len(s.Progress.Values) > 0 && !s.Progress.IsError, s.Progress},
		{"cancel: aborted promptly", s.Cancel.Cancelled && s.Cancel.ElapsedMs < 10000, s.Cancel},
		{"ping after cancel", s.PingAfterCancel, s.PingAfterCancel},
		{"DELETE ended the session", s.Terminated, s.Terminated},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("got %+v", c.got)
			}
		})
	}
	checkCancelledSleep(t, owner, sleeps[owner.name]+2) // the progress call, then the cancelled one
	checkSessionGone(t, ring, s.SessionID, ring.nodes[0].token)
	if got := ring.proxiedByRing(t, "proxied") - before; got < 20 {
		t.Errorf("%v requests proxied to the session's node; want most of the session's 35 or so", got)
	}
}

// checkCancelledSleep waits until owner has finished want sleep calls: a
// cancelled 300 s sleep has stopped.
func checkCancelledSleep(t *testing.T, owner *node, want int) {
	t.Helper()
	wait.For(t, ringTimeout, func() bool { return sleepCalls(t, owner) >= want },
		"the cancelled sleep to end on %s (%v sleep calls finished, want %v)", owner.name,
		wait.Later(func() any { return sleepCalls(t, owner) }), want)
}

// checkSessionGone: a ping in the ended session sid gets 404 from every node.
func checkSessionGone(t *testing.T, ring balancedRing, sid, token string) {
	t.Helper()
	for _, n := range ring.nodes {
		if code := pingAs(t, n, token, sid); code != http.StatusNotFound {
			t.Errorf("ping in the ended session on %s: %d, want 404", n.name, code)
		}
	}
}

func testBalancedGoSDK(t *testing.T, ring balancedRing) {
	before := ring.proxiedByRing(t, "proxied")
	progress := make(chan *mcp.ProgressNotificationParams, 64)
	cs := connectGoSDK(t, ring.mcpURL(), ring.nodes[0].token, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) { progress <- r.Params },
	})
	owner := ring.byName(sessionNode(cs.ID()))
	if owner == nil || cs.InitializeResult().ProtocolVersion != legacyVersion {
		t.Fatalf("session %q (protocol %s) names no node of the ring", cs.ID(), cs.InitializeResult().ProtocolVersion)
	}
	t.Run("list", func(t *testing.T) { checkGoSDKTools(t, cs) })
	t.Run("30 calls", func(t *testing.T) { checkGoSDKCalls(t, cs, owner.name) })
	t.Run("progress", func(t *testing.T) { checkGoSDKSleepProgress(t, cs, progress) })
	t.Run("cancel", func(t *testing.T) {
		sleeps := sleepCalls(t, owner)
		testGoSDKCancel(t, cs)
		checkCancelledSleep(t, owner, sleeps+1)
	})
	sid := cs.ID()
	if err := cs.Close(); err != nil { // DELETE
		t.Errorf("close (DELETE): %v", err)
	}
	checkSessionGone(t, ring, sid, ring.nodes[0].token)
	if got := ring.proxiedByRing(t, "proxied") - before; got < 20 {
		t.Errorf("%v requests proxied to the session's node; want most of the session's 35 or so", got)
	}
}

func checkGoSDKTools(t *testing.T, cs *mcp.ClientSession) {
	var names []string
	for tool, err := range cs.Tools(testCtx(t), nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		names = append(names, tool.Name)
	}
	if !containsAll(names, "echo", "whoami", "sleep") {
		t.Errorf("tools %v; want the demo tools", names)
	}
}

func checkGoSDKCalls(t *testing.T, cs *mcp.ClientSession, owner string) {
	for i := range 30 {
		res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
		if err != nil || res.IsError || contentText(res.Content) != owner {
			t.Fatalf("call %d of whoami: %v %+v; want %s, the session's node", i+1, err, res, owner)
		}
	}
}

func checkGoSDKSleepProgress(t *testing.T, cs *mcp.ClientSession, progress chan *mcp.ProgressNotificationParams) {
	params := &mcp.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 450}}
	params.SetProgressToken("lb-progress")
	res, err := cs.CallTool(testCtx(t), params)
	if err != nil || res.IsError {
		t.Fatalf("sleep with progress: %v %+v", err, res)
	}
	select {
	case p := <-progress:
		if p.ProgressToken != "lb-progress" {
			t.Errorf("progress token %v, want lb-progress", p.ProgressToken)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no progress notification for a 450 ms sleep")
	}
}

// testForgedSessionID: an altered id, and one minted under another
// secret, get 404 from every node; nothing is proxied.
func testForgedSessionID(t *testing.T, ring balancedRing) {
	a, b := ring.nodes[0], ring.nodes[1]
	sid := initializeAs(t, a, a.token, http.StatusOK)
	forged := []string{sid[:len(sid)-2] + "AA", "m1." + base64.RawURLEncoding.EncodeToString([]byte(a.name)) + ".AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"}
	before := ring.proxiedByRing(t, "proxied")
	for _, id := range forged {
		if code := pingAs(t, b, b.token, id); code != http.StatusNotFound {
			t.Errorf("ping with forged id %q on %s: %d, want 404", id, b.name, code)
		}
	}
	if got := ring.proxiedByRing(t, "proxied") - before; got != 0 {
		t.Errorf("%v requests with a forged id proxied; want none", got)
	}
	if code := pingAs(t, b, b.token, sid); code != http.StatusOK {
		t.Errorf("ping with the real id through %s: %d, want 200 (proxied to %s)", b.name, code, a.name)
	}
}

// testProxiedOtherPrincipal: another principal's use of a session through
// a node that proxies it gets the owner's 404; the session's principal
// still gets 200.
func testProxiedOtherPrincipal(t *testing.T, ring balancedRing) {
	a, b := ring.nodes[0], ring.nodes[1]
	alice := makeToken(t, "--username", "alice@example.com", "--secret", testSecret, "--scope", "mcp")
	mallory := makeToken(t, "--username", "mallory@example.com", "--secret", testSecret, "--scope", "mcp")
	sid := initializeAs(t, a, alice, http.StatusOK)
	before := proxied(t, b, "proxied")
	if code := pingAs(t, b, mallory, sid); code != http.StatusNotFound {
		t.Errorf("mallory's ping in alice's session through %s: %d, want 404", b.name, code)
	}
	r := b.do(t, http.MethodDelete, "/mcp/http", nil, as(mallory, map[string]string{"Mcp-Session-Id": sid}))
	if r.status != http.StatusNotFound {
		t.Errorf("mallory's DELETE of alice's session through %s: %d, want 404", b.name, r.status)
	}
	if got := proxied(t, b, "proxied") - before; got != 2 {
		t.Errorf("%v of mallory's requests proxied to %s; want 2 (the owner says 404)", got, a.name)
	}
	if code := pingAs(t, b, alice, sid); code != http.StatusOK {
		t.Errorf("alice's ping in her session through %s: %d, want 200", b.name, code)
	}
}

// testOwnerDrained (item 6): a fourth node's session is served through
// the three others; once that node drains (SIGTERM) and leaves the ring,
// its session gets 404 from each of them, proxied nowhere.
func testOwnerDrained(t *testing.T, ring balancedRing) {
	d := startMeshNode(t, "lbs-d", "--join", ringInfo(t, ring.nodes[0]).GossipAddress)
	for _, n := range ring.nodes {
		wait.For(t, ringTimeout, func() bool { return memberStatus(t, n, d.name) == "alive" }, "%s to see %s alive", n.name, d.name)
	}
	sid := initializeAs(t, d, d.token, http.StatusOK)
	for _, n := range ring.nodes {
		if code := pingAs(t, n, d.token, sid); code != http.StatusOK {
			t.Errorf("ping in %s's session through %s: %d, want 200", d.name, n.name, code)
		}
	}
	if err := d.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", d.name, err)
	}
	<-d.proc.done
	for _, n := range ring.nodes {
		wait.For(t, ringTimeout, func() bool { return memberStatus(t, n, d.name) == "left" }, "%s to see %s left", n.name, d.name)
		gone, sent := proxied(t, n, "owner_gone"), proxied(t, n, "proxied")
		if code := pingAs(t, n, d.token, sid); code != http.StatusNotFound {
			t.Errorf("ping in the drained node's session through %s: %d, want 404", n.name, code)
		}
		if got := proxied(t, n, "owner_gone") - gone; got != 1 || proxied(t, n, "proxied") != sent {
			t.Errorf("%s counted %v requests for a left owner (and proxied %v); want 1, answered 404 there, none proxied",
				n.name, got, proxied(t, n, "proxied")-sent)
		}
	}
}

// testOwnerKilled: kill -9 of a session's node; the session's id then gets
// 404 from the two others, and a new session through the balancer works.
func testOwnerKilled(t *testing.T, ring balancedRing) {
	token := ring.nodes[0].token
	cs := connectGoSDK(t, ring.mcpURL(), token, nil)
	owner := ring.byName(sessionNode(cs.ID()))
	if owner == nil {
		t.Fatalf("session %q names no node of the ring", cs.ID())
	}
	if err := cs.Ping(testCtx(t), nil); err != nil {
		t.Fatalf("ping before the kill: %v", err)
	}
	if err := owner.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s: %v", owner.name, err)
	}
	<-owner.proc.done
	for _, n := range ring.others(owner.name) {
		r := n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`),
			map[string]string{"Accept": acceptBoth, "Mcp-Session-Id": cs.ID()})
		if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "session not found") {
			t.Errorf("ping in the dead node's session through %s: %d %s; want 404 session not found", n.name, r.status, r.body)
		}
	}
	fresh := connectGoSDK(t, ring.mcpURL(), token, nil)
	res, err := fresh.CallTool(testCtx(t), &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("call in a new session after the kill: %v %+v", err, res)
	}
	if got := contentText(res.Content); got == owner.name || got != sessionNode(fresh.ID()) {
		t.Errorf("new session's whoami %q (session of %q); want its own live node, not %s", got, sessionNode(fresh.ID()), owner.name)
	}
	if err := fresh.Ping(testCtx(t), nil); errors.Is(err, context.DeadlineExceeded) || err != nil {
		t.Errorf("ping in the new session: %v", err)
	}
}
