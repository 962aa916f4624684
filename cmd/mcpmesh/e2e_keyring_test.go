package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The gossip keyring rotated with `mcpmesh keyring` on three real nodes
// while calls flow through the ring.

// TestKeyringRotationCLI rotates a three-node ring from its key to a new
// one (install, use, remove) with the CLI while a calls b's tools:
// no call fails, a node restarted afterwards keeps the new key (stored),
// and a node holding only the old key is refused.
func TestKeyringRotationCLI(t *testing.T) {
	a, b, c := keyringRing(t)
	var before api.KeyringResult
	cliJSON(t, a, &before, "keyring", "list")
	if len(before.Keys) != 1 || before.Keys[0].Nodes != 3 || before.Keys[0].Primary != 3 {
		t.Fatalf("keyring before the rotation: %+v", before)
	}
	oldKey, newKey := before.Keys[0].Key, strings.TrimSpace(cliOK(t, a, "keygen"))
	stop := keepCalling(a, "pb__whoami")
	defer stop()

	if r := runCLI(t, cliEnv(a), "keyring", "use", newKey); r.code != 1 || !strings.Contains(r.stderr, "not installed on") {
		t.Fatalf("keyring use before install: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, step := range [][2]string{{"install", newKey}, {"use", newKey}, {"remove", oldKey}} {
		out := cliOK(t, a, "keyring", step[0], step[1])
		head, table, _ := strings.Cut(out, "\n\n")
		if !strings.HasSuffix(head, "3 of 3 nodes") {
			t.Fatalf("keyring %s printed %q", step[0], out)
		}
		parseTable(t, table, "KEY", "PRIMARY", "NODES")
	}
	rows := parseTable(t, cliOK(t, a, "keyring", "list"), "KEY", "PRIMARY", "NODES")
	if want := [][]string{{newKey, "3/3", "3/3"}}; !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("keyring list after the rotation: %q, want %q", rows, want)
	}
	// gossip sealed with the new key carries a registry write everywhere
	before2 := ringInfo(t, a).RegistryDigest
	cliOK(t, a, "peers", "set-trust", "pc", "discover")
	cliOK(t, a, "peers", "set-trust", "pc", "full")
	waitRegistryConverged(t, []*node{a, b, c}, 2)
	if ringInfo(t, c).RegistryDigest == before2 {
		t.Fatal("the registry digest did not change after two writes")
	}
	calls, fails := stop()
	if calls == 0 || fails != 0 {
		t.Fatalf("%d of %d calls failed during the rotation", fails, calls)
	}
	t.Logf("%d calls through the rotation, none failed", calls)
	checkRestartKeepsKey(t, a, b)
	checkStaleRefused(t, a, c)
}

// keyringRing starts three nodes, b and c joined to a and a's full peers.
func keyringRing(t *testing.T) (a, b, c *node) {
	t.Helper()
	a = startMeshNode(t, "kr-a")
	gossip := ringInfo(t, a).GossipAddress
	b = startMeshNode(t, "kr-b", "--join", gossip)
	c = startMeshNode(t, "kr-c", "--join", gossip)
	ringAddPeer(t, a, b.url, "pb", "full")
	ringAddPeer(t, a, c.url, "pc", "full")
	wait.For(t, ringTimeout, func() bool {
		l := ringList(t, a)
		return l.has("pb__whoami") && l.has("pc__whoami")
	}, "waiting for a to list pb and pc tools")
	return a, b, c
}

// checkRestartKeepsKey restarts b with the same flags (so its configured
// key is the old one): its stored keyring wins and it rejoins.
func checkRestartKeepsKey(t *testing.T, a, b *node) {
	t.Helper()
	b.proc.stopClean(t)
	nb := startNode(t, nodeOptions{name: b.name, demo: true, dataDir: b.dataDir,
		extra: []string{"--gossip", "127.0.0.1:0", "--join", ringInfo(t, a).GossipAddress}})
	wait.For(t, ringTimeout, func() bool {
		return slices.Contains(ringAlive(t, a), nb.name) && ringCall(t, a, "pb__whoami", map[string]any{}).text() == nb.name
	}, "waiting for the restarted node to be alive on a")
	if !strings.Contains(nb.proc.out.String(), "stored keyring") {
		t.Fatalf("the restarted node did not say it used its stored keyring:\n%s", nb.proc.out.String())
	}
}

// checkStaleRefused starts a node with only the old key (derived from the
// shared secret, no stored keyring): it cannot join, says why, and its
// /ready answers 503 saying its gossip key is refused.
func checkStaleRefused(t *testing.T, a, c *node) {
	t.Helper()
	stale := startUnready(t, "kr-stale", "--join", ringInfo(t, a).GossipAddress)
	wait.For(t, ringTimeout, func() bool {
		return strings.Count(stale.proc.out.String(), "mcpmesh keyring list") >= 2
	}, "waiting for the stale node to log its refused join")
	if code, st := readyStatus(t, stale); code != http.StatusServiceUnavailable || st != "gossip key refused" {
		t.Fatalf("the stale node's /ready = %d %q, want 503 \"gossip key refused\"", code, st)
	}
	for _, n := range []*node{a, c} {
		var members []api.Member
		ringGet(t, n, "/api/federation/members", &members)
		if slices.ContainsFunc(members, func(m api.Member) bool { return m.Name == stale.name }) {
			t.Fatalf("%s lists the node holding only the old key: %+v", n.name, members)
		}
	}
}

// keepCalling calls tools in turn through n with plain POSTs until stop,
// which returns how many calls were made and how many failed.
func keepCalling(n *node, tools ...string) (stop func() (calls, fails int64)) {
	var count, failed atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			count.Add(1)
			if err := callOnce(n, tools[i%len(tools)]); err != nil {
				failed.Add(1)
			}
		}
	}()
	var once sync.Once
	return func() (int64, int64) {
		once.Do(func() { close(quit); <-done })
		return count.Load(), failed.Load()
	}
}

// callOnce calls tool on n and checks the answer is a result, not an error.
func callOnce(n *node, tool string) error {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
	req, err := http.NewRequest(http.MethodPost, n.url+"/mcp", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var msg struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(buf.Bytes(), &msg) != nil || msg.Result == nil || msg.Result.IsError {
		return fmt.Errorf("%s: %d %s", tool, resp.StatusCode, buf.String())
	}
	return nil
}
