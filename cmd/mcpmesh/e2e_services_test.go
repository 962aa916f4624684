package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Replicated services with real processes: a service "svc" provided by
// svc-a and svc-b (testdata/svcupstream, which records every execution in
// a file per node), called from svc-c, the three auto-trusting each other.

// svcUpstream is testdata/svcupstream, built once per test binary.
var svcUpstream = &helperBinary{name: "svcupstream", pkg: "./testdata/svcupstream"}

func buildSvcUpstream(t testing.TB) string { return svcUpstream.build(t) }

// svcNode is one node of the service ring, with its provider's files.
type svcNode struct {
	*node
	count, down string // the upstream's execution record and its "stay down" file ("" for no provider)
}

// startSvcNode starts a node that auto-trusts the ring; with provide set it
// runs a provider of "svc".
func startSvcNode(t *testing.T, name string, provide bool, extra ...string) *svcNode {
	t.Helper()
	o := nodeOptions{name: name, extra: append([]string{"--gossip", "127.0.0.1:0", "--auto-trust", "full"}, extra...)}
	sn := &svcNode{}
	if provide {
		dir := t.TempDir()
		sn.count, sn.down = filepath.Join(dir, "count"), filepath.Join(dir, "down")
		o.servers = map[string]serverEntry{"svcup": {Command: buildSvcUpstream(t), Service: "svc",
			Env: map[string]string{"COUNT_FILE": sn.count, "DOWN_FILE": sn.down, "NODE": name}}}
	} else {
		o.demo = true
	}
	sn.node = startNode(t, o)
	return sn
}

// startSvcRing starts svc-a and svc-b (providers) and svc-c (caller), and
// waits until svc-c lists the service with both providers.
func startSvcRing(t *testing.T) (a, b, c *svcNode) {
	a = startSvcNode(t, "svc-a", true)
	join := ringInfo(t, a.node).GossipAddress
	b = startSvcNode(t, "svc-b", true, "--join", join)
	c = startSvcNode(t, "svc-c", false, "--join", join)
	wait.For(t, ringTimeout, func() bool {
		tool, ok := findTool(ringList(t, c.node), "svc__read")
		return ok && fmt.Sprint(tool.Meta["mcpmesh/providers"]) == "[svc-a svc-b]"
	}, "svc-c to list svc__read served by svc-a and svc-b")
	return a, b, c
}

func findTool(l ringListing, name string) (ringTool, bool) {
	for _, tool := range l.tools {
		if tool.Name == name {
			return tool, true
		}
	}
	return ringTool{}, false
}

// svcCall is one call's answer as the callers saw it.
type svcCall struct {
	id, provider string
	failed       string // why the call failed ("" when it did not)
}

// callSvc calls tool on n with a plain POST; safe from any goroutine.
func callSvc(n *node, tool, id string, ms int) svcCall {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": map[string]any{"id": id, "ms": ms}}})
	req, _ := http.NewRequest(http.MethodPost, n.url+"/mcp", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := httpClient.Do(req)
	if err != nil {
		return svcCall{id: id, failed: err.Error()}
	}
	defer resp.Body.Close()
	var rep struct {
		Result *callResult `json:"result"`
		Error  *rpcError   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || rep.Result == nil {
		return svcCall{id: id, failed: fmt.Sprintf("status %d, error %+v, decode %v", resp.StatusCode, rep.Error, err)}
	}
	out := svcCall{id: id}
	out.provider, _ = rep.Result.Meta["mcpmesh/provider"].(string)
	if rep.Result.IsError {
		out.failed = rep.Result.text()
	}
	return out
}

// executions counts each id's executions of tool in the record files.
func executions(t *testing.T, tool string, nodes ...*svcNode) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, n := range nodes {
		b, err := os.ReadFile(n.count)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == tool {
				out[f[1]]++
			}
		}
	}
	return out
}

// callMany makes calls of tool from callers goroutines until stop says
// so, ids "<prefix>-<n>"; each call sleeps ms in the upstream.
func callMany(n *node, tool, prefix string, callers, ms int, stop func(done int64) bool) []svcCall {
	var mu sync.Mutex
	var out []svcCall
	var seq, done atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for !stop(done.Load()) {
				r := callSvc(n, tool, fmt.Sprintf("%s-%d", prefix, seq.Add(1)), ms)
				done.Add(1)
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

func svcServices(t *testing.T, n *node) []api.Service {
	t.Helper()
	var out []api.Service
	ringGet(t, n, "/api/services", &out)
	return out
}

func providerStatus(t *testing.T, n *node, node string) string {
	for _, s := range svcServices(t, n) {
		for _, p := range s.Providers {
			if s.Name == "svc" && p.Node == node {
				return p.Status
			}
		}
	}
	return "absent"
}

// TestServiceFailover: the service is listed once on the caller's node;
// 4 callers spread over both providers; a provider whose stdio upstream
// crashed is skipped while its node lives; kill -9 of a provider under
// load loses no call of the read-only tool, and the tool without hints
// never runs twice for one call.
func TestServiceFailover(t *testing.T) {
	a, b, c := startSvcRing(t)
	t.Run("listed once", func(t *testing.T) { checkListedOnce(t, c) })
	t.Run("mcpmesh services", func(t *testing.T) { checkServicesCLI(t, c) })
	t.Run("spread", func(t *testing.T) { checkSpread(t, a, b, c) })
	t.Run("crashed upstream skipped", func(t *testing.T) { checkCrashedUpstream(t, a, b, c) })
	t.Run("kill -9 under load", func(t *testing.T) { checkKillUnderLoad(t, a, b, c) })
}

// checkListedOnce: svc__read and svc__write, with source svc and both
// providers, and nothing of the service under a node's prefix.
func checkListedOnce(t *testing.T, c *svcNode) {
	l := ringList(t, c.node)
	for _, name := range []string{"svc__read", "svc__write"} {
		tool, ok := findTool(l, name)
		if !ok || tool.Source != "svc" {
			t.Errorf("tool %s on svc-c: listed %v, source %q; want listed with source svc", name, ok, tool.Source)
		}
	}
	for _, name := range l.names() {
		if strings.Contains(name, "svc__") && !strings.HasPrefix(name, "svc__") {
			t.Errorf("svc-c lists %s: a service tool under a node's name", name)
		}
	}
}

// checkServicesCLI: `mcpmesh services` prints one row per provider, and
// its JSON is GET /api/services.
func checkServicesCLI(t *testing.T, c *svcNode) {
	rows := parseTable(t, cliOK(t, c.node, "services"), "SERVICE", "TOOLS", "NODE", "STATUS", "IN_FLIGHT", "RTT_MS", "SCHEMA_MISMATCH")
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join(r[:4], " ")+" "+r[6])
	}
	if want := []string{"svc 2 svc-a online -", "svc 2 svc-b online -"}; !slices.Equal(got, want) {
		t.Errorf("mcpmesh services rows %q, want %q", got, want)
	}
	var services []api.Service
	wait.For(t, ringTimeout, func() bool { // the RTT comes with gossip's next probe of each provider
		cliJSON(t, c.node, &services, "services")
		return len(services) == 1 && len(services[0].Providers) == 2 && services[0].Providers[0].RTTMillis > 0 && services[0].Providers[1].RTTMillis > 0
	}, "mcpmesh services -o json to show both providers with a gossip RTT: %v", wait.Later(func() any { return services }))
	if services[0].Name != "svc" || !slices.Equal(services[0].Tools, []string{"svc__read", "svc__write"}) {
		t.Errorf("mcpmesh services -o json: %+v; want svc with its two tools", services)
	}
}

// checkSpread: 100 calls by 4 callers; each provider ran at least a
// quarter, every answer names the node that ran it.
func checkSpread(t *testing.T, a, b, c *svcNode) {
	calls := callMany(c.node, "svc__read", "spread", 4, 20, func(done int64) bool { return done >= 100 })
	by := map[string]int{}
	for _, r := range calls {
		if r.failed != "" {
			t.Errorf("call %s failed: %s", r.id, r.failed)
		}
		by[r.provider]++
	}
	if by["svc-a"] < len(calls)/4 || by["svc-b"] < len(calls)/4 {
		t.Errorf("providers of %d calls: %v; want each of svc-a and svc-b at least a quarter", len(calls), by)
	}
	ran := executions(t, "read", a, b)
	for _, r := range calls {
		if ran[r.id] != 1 {
			t.Errorf("call %s ran %d times, want once", r.id, ran[r.id])
		}
	}
}

// checkCrashedUpstream: svc-b's upstream is killed and stays down; svc-c
// sees svc-b as upstream_down (its node alive) and sends every call to
// svc-a; once the upstream is back, svc-b serves again.
func checkCrashedUpstream(t *testing.T, a, b, c *svcNode) {
	if err := os.WriteFile(b.down, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var srv api.Server
	ringGet(t, b.node, "/api/servers/svcup", &srv)
	if srv.PID == 0 {
		t.Fatalf("svc-b's upstream shows no pid: %+v", srv)
	}
	if err := syscall.Kill(srv.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait.For(t, ringTimeout, func() bool { return providerStatus(t, c.node, "svc-b") == "upstream_down" },
		"svc-c to see svc-b's upstream down, status %v", wait.Later(func() any { return providerStatus(t, c.node, "svc-b") }))
	if alive := ringAlive(t, c.node); !slices.Contains(alive, "svc-b") {
		t.Fatalf("svc-b is not alive on svc-c (%v): the test needs its node up", alive)
	}
	calls := callMany(c.node, "svc__write", "crash", 4, 5, func(done int64) bool { return done >= 20 })
	for _, r := range calls {
		if r.failed != "" || r.provider != "svc-a" {
			t.Errorf("call %s with svc-b's upstream down: provider %q, failed %q; want svc-a", r.id, r.provider, r.failed)
		}
	}
	if err := os.Remove(b.down); err != nil {
		t.Fatal(err)
	}
	wait.For(t, ringTimeout, func() bool { return providerStatus(t, c.node, "svc-b") == "online" },
		"svc-b's upstream to be back, status %v", wait.Later(func() any { return providerStatus(t, c.node, "svc-b") }))
}

// checkKillUnderLoad: 4 callers alternate the read-only and the unhinted
// tool (100 ms each); svc-b is killed with SIGKILL at a moment it runs a
// read and a write of theirs; 40 more calls follow. No read call fails
// (the one cut off ran again on svc-a); no write call ran twice (the one
// cut off failed, having run once, on svc-b).
func checkKillUnderLoad(t *testing.T, a, b, c *svcNode) {
	var mu sync.Mutex
	var reads, writes []svcCall
	inFlight := map[string]bool{}
	var seq, afterKill atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for afterKill.Load() < 40 && seq.Load() < 600 {
				i := seq.Add(1)
				tool, id := "svc__read", fmt.Sprintf("kill-r-%d", i)
				if i%2 == 0 {
					tool, id = "svc__write", fmt.Sprintf("kill-w-%d", i)
				}
				mu.Lock()
				inFlight[id] = true
				mu.Unlock()
				r := callSvc(c.node, tool, id, 100)
				if killed.Load() {
					afterKill.Add(1)
				}
				mu.Lock()
				delete(inFlight, id)
				if tool == "svc__read" {
					reads = append(reads, r)
				} else {
					writes = append(writes, r)
				}
				mu.Unlock()
			}
		})
	}
	var callersDone atomic.Bool
	killer := make(chan struct{})
	go func() { defer close(killer); killWhenBusy(t, b, &mu, inFlight, &killed, &callersDone) }()
	wg.Wait()
	callersDone.Store(true)
	<-killer
	if !killed.Load() {
		t.Fatal("svc-b never ran a read and a write of the callers at once: nothing was killed")
	}
	checkKillResults(t, a, b, reads, writes)
}

// killWhenBusy kills svc-b once it is running both a read and a write
// that the callers still wait for.
func killWhenBusy(t *testing.T, b *svcNode, mu *sync.Mutex, inFlight map[string]bool, killed, callersDone *atomic.Bool) {
	for !callersDone.Load() {
		raw, _ := os.ReadFile(b.count)
		mu.Lock()
		busy := map[string]bool{}
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) == 3 && inFlight[f[1]] {
				busy[f[0]] = true
			}
		}
		mu.Unlock()
		if busy["read"] && busy["write"] {
			if err := b.proc.cmd.Process.Kill(); err != nil {
				t.Errorf("kill svc-b: %v", err)
			}
			killed.Store(true)
			return
		}
		time.Sleep(5 * time.Millisecond) // a poll of the record file, not a timed assertion
	}
}

func checkKillResults(t *testing.T, a, b *svcNode, reads, writes []svcCall) {
	ranReads, ranWrites := executions(t, "read", a, b), executions(t, "write", a, b)
	onB := executions(t, "read", b)
	retried := 0
	for _, r := range reads {
		if r.failed != "" || ranReads[r.id] == 0 {
			t.Errorf("read %s: failed %q, ran %d times; want no failure", r.id, r.failed, ranReads[r.id])
		}
		if onB[r.id] == 1 && r.provider == "svc-a" {
			retried++
		}
	}
	failed := 0
	for _, w := range writes {
		switch n := ranWrites[w.id]; {
		case n > 1:
			t.Errorf("write %s ran %d times: an unhinted tool must never run twice", w.id, n)
		case w.failed == "" && n != 1:
			t.Errorf("write %s answered by %s but ran %d times", w.id, w.provider, n)
		case w.failed != "":
			failed++
		}
	}
	if retried == 0 || failed == 0 {
		t.Errorf("around the kill: %d reads cut off on svc-b ran again on svc-a, %d writes cut off failed; want at least one of each", retried, failed)
	}
	t.Logf("%d reads (%d cut off and run again on svc-a), %d writes (%d cut off, failed, run once) around the kill", len(reads), retried, len(writes), failed)
}
