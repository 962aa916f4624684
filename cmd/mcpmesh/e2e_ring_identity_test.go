package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// startClaimant serves, on 127.0.0.1, a /api/federation/info answer that
// claims to be member name at gossip.
func startClaimant(t *testing.T, name, gossip string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/federation/info" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name, "gossip_address": gossip, "version": "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRingIdentity, on real processes: a URL claiming to be a ring member
// that gossips another address is 409, one claiming a member that does not
// exist is 502, and nothing is written; a node started with the ring's
// secret under the name of a peer killed with SIGKILL, on a fresh data dir,
// is refused (its /ready says why) and the ring does not take it for the
// peer; the real one, restarted on its data dir, is federated again.
func TestRingIdentity(t *testing.T) {
	a := startMeshNode(t, "ia")
	b := startMeshNode(t, "ib", "--join", ringInfo(t, a).GossipAddress)
	bGossip := ringInfo(t, b).GossipAddress
	fakeB, ghost := startClaimant(t, "ib", bGossip), startClaimant(t, "ghost", bGossip)
	for _, tc := range []struct {
		url     string
		status  int
		mention []string
	}{{fakeB, http.StatusConflict, []string{fakeB, b.url}}, {ghost, http.StatusBadGateway, []string{ghost, "ghost"}}} {
		r := a.do(t, http.MethodPost, "/api/federation/peers", mustJSON(map[string]string{"url": tc.url}), nil)
		if r.status != tc.status || !mentionsAll(string(r.body), tc.mention) {
			t.Errorf("POST peer %s: %d %s; want %d naming %v", tc.url, r.status, r.body, tc.status, tc.mention)
		}
	}
	if peers := ringPeers(t, a); len(peers) != 0 {
		t.Fatalf("refused adds left records: %+v", peers)
	}
	ringAddPeer(t, a, strings.Replace(b.url, "127.0.0.1", "localhost", 1), "b", "full")

	_ = b.proc.cmd.Process.Kill()
	<-b.proc.done
	wait.For(t, ringTimeout, func() bool { return !slices.Contains(ringAlive(t, a), "ib") }, "waiting for ia to see ib dead")
	impostor := startUnready(t, "ib", "--join", ringInfo(t, a).GossipAddress)
	wait.For(t, ringTimeout, func() bool {
		r := impostor.do(t, http.MethodGet, "/ready", nil, nil)
		return r.status == http.StatusServiceUnavailable && strings.Contains(string(r.body), "node id")
	}, "waiting for the impostor's /ready to say it is refused")
	if slices.Contains(ringAlive(t, a), "ib") {
		t.Errorf("ia lists ib alive while only the impostor runs")
	}
	if res := ringCall(t, a, "b__whoami", map[string]any{}); !res.IsError {
		t.Errorf("b__whoami reached someone while the real ib is down: %+v", res)
	}
	impostor.proc.stop()

	startNode(t, nodeOptions{name: "ib", demo: true, dataDir: b.dataDir, extra: []string{"--gossip", "127.0.0.1:0"}})
	wait.For(t, 30*time.Second, func() bool {
		res := ringCall(t, a, "b__whoami", map[string]any{})
		return !res.IsError && len(res.Content) > 0 && res.Content[0].Text == "ib"
	}, "waiting for ia to call the real ib again")
}

func mentionsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// startUnready starts a demo node on a fresh data dir and waits until it
// answers /ready at all (it may be refused), not until it is ready.
func startUnready(t *testing.T, name string, extra ...string) *node {
	t.Helper()
	o := nodeOptions{name: name, demo: true, dataDir: t.TempDir(), extra: append([]string{"--gossip", "127.0.0.1:0"}, extra...)}
	addr := freeAddr(t)
	p := startProc(t, "mcpmesh node "+name, buildBinaries(t).mcpmesh, append(serveArgs(t, o), "--http", addr)...)
	n := &node{name: name, url: "http://" + addr, dataDir: o.dataDir, proc: p,
		token: makeToken(t, "--username", "admin@example.com", "--secret", testSecret)}
	wait.For(t, readyTimeout, func() bool {
		resp, err := http.Get(n.url + "/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil || p.exited()
	}, "waiting for %s to answer /ready", name)
	return n
}
