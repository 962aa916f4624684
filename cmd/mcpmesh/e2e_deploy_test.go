package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// readyStatus is a node's /ready answer: its status code and "status".
func readyStatus(t *testing.T, n *node) (int, string) {
	t.Helper()
	r := n.do(t, http.MethodGet, "/ready", nil, nil)
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return r.status, body.Status
}

// TestJoinDNS: --join dns:localhost:PORT resolves the name (every address
// of localhost) and forms a ring of two real processes.
func TestJoinDNS(t *testing.T) {
	a := startMeshNode(t, "dns-a")
	_, port, err := net.SplitHostPort(ringInfo(t, a).GossipAddress)
	if err != nil {
		t.Fatal(err)
	}
	b := startMeshNode(t, "dns-b", "--join", "dns:localhost:"+port)
	wait.For(t, ringTimeout, func() bool {
		return slices.Contains(ringAlive(t, a), "dns-b") && slices.Contains(ringAlive(t, b), "dns-a")
	}, "waiting for dns-a and dns-b to see each other alive")
}

// TestReadyAfterJoining: a node whose seeds are not up — a gossip address
// and a node URL — answers /ready with 503 saying it has not joined; once
// a seed comes up and it joins, 200.
func TestReadyAfterJoining(t *testing.T) {
	seedAddr := freeAddr(t)
	b := startUnready(t, "ready-b", "--join", seedAddr+",http://"+freeAddr(t))
	wait.For(t, readyTimeout, func() bool {
		code, st := readyStatus(t, b)
		return code == http.StatusServiceUnavailable && st == "joining"
	}, "waiting for ready-b's /ready to say 503 joining")
	a := startNode(t, nodeOptions{name: "ready-a", demo: true, extra: []string{"--gossip", seedAddr}})
	wait.For(t, ringTimeout, func() bool {
		code, _ := readyStatus(t, b)
		return code == http.StatusOK
	}, "waiting for ready-b's /ready to say 200 once it joined")
	if !slices.Contains(ringAlive(t, b), a.name) {
		t.Fatalf("ready-b is ready but does not see %s alive: %v", a.name, ringAlive(t, b))
	}
}

// TestMetricsToken: with --metrics-token, GET /metrics needs that bearer
// token (401 with a Bearer challenge otherwise); /health and /ready stay
// open.
func TestMetricsToken(t *testing.T) {
	n := startNode(t, nodeOptions{name: "metrics-token", extra: []string{"--metrics-token", "scrape-me"}})
	cases := []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer scrape-you", http.StatusUnauthorized},
		{"an admin JWT", "Bearer " + n.token, http.StatusUnauthorized},
		{"not bearer", "Basic scrape-me", http.StatusUnauthorized},
		{"the token", "Bearer scrape-me", http.StatusOK},
		{"the token, lower-case scheme", "bearer scrape-me", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			r := n.do(t, http.MethodGet, "/metrics", nil, h)
			if r.status != tc.want {
				t.Fatalf("GET /metrics = %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == http.StatusOK && !strings.Contains(string(r.body), "mcpmesh_") {
				t.Fatalf("GET /metrics with the token: no mcpmesh_ metrics in %.200s", r.body)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("401 without a Bearer challenge: %v", r.header)
			}
		})
	}
	for _, path := range []string{"/health", "/ready"} {
		if r := n.do(t, http.MethodGet, path, nil, nil); r.status != http.StatusOK {
			t.Fatalf("GET %s without a token = %d, want 200", path, r.status)
		}
	}
}

// TestJoinListIncludingItself: nodes given the same --join list, each
// itself included (docs/deploy.md), start in any order: the first is ready
// alone (the first of its ring) and keeps trying the others, so it joins
// a second node that was given no --join at all.
func TestJoinListIncludingItself(t *testing.T) {
	ga, gb := freeAddr(t), freeAddr(t)
	a := startNode(t, nodeOptions{name: "self-a", demo: true, extra: []string{"--gossip", ga, "--join", ga + "," + gb}})
	if code, st := readyStatus(t, a); code != http.StatusOK {
		t.Fatalf("self-a alone, itself among its seeds: /ready = %d %q, want 200", code, st)
	}
	b := startNode(t, nodeOptions{name: "self-b", demo: true, extra: []string{"--gossip", gb}})
	wait.For(t, ringTimeout, func() bool {
		return slices.Contains(ringAlive(t, a), b.name) && slices.Contains(ringAlive(t, b), a.name)
	}, "waiting for self-a to join self-b")
}

// TestReadyJoiningByURL: a node given only a node URL that does not
// answer has not joined either.
func TestReadyJoiningByURL(t *testing.T) {
	b := startUnready(t, "ready-url", "--join", "http://"+freeAddr(t))
	wait.For(t, readyTimeout, func() bool {
		code, st := readyStatus(t, b)
		return code == http.StatusServiceUnavailable && st == "joining"
	}, "waiting for ready-url's /ready to say 503 joining")
}

// TestReadyKeyRefusedOnRestart: a node restarted on its data dir with a
// gossip key its ring does not hold, and no --join, is refused by the
// members it retries: its /ready answers 503 saying so.
func TestReadyKeyRefusedOnRestart(t *testing.T) {
	a := startMeshNode(t, "key-a")
	b := startMeshNode(t, "key-b", "--join", ringInfo(t, a).GossipAddress)
	wait.For(t, ringTimeout, func() bool { return slices.Contains(ringAlive(t, a), b.name) }, "waiting for key-a to see key-b")
	b.proc.stopClean(t)
	o := nodeOptions{name: b.name, demo: true, dataDir: b.dataDir,
		extra: []string{"--gossip", "127.0.0.1:0", "--gossip-key", cluster.EncodeKey(bytes.Repeat([]byte{7}, 32))}}
	addr := freeAddr(t)
	restarted := &node{name: b.name, url: "http://" + addr, dataDir: b.dataDir,
		proc: startProc(t, "mcpmesh node key-b (another key)", buildBinaries(t).mcpmesh, append(serveArgs(t, o), "--http", addr)...)}
	wait.For(t, ringTimeout, func() bool {
		if restarted.proc.exited() {
			return true
		}
		resp, err := httpClient.Get(restarted.url + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		code, st := readyStatus(t, restarted)
		return code == http.StatusServiceUnavailable && st == "gossip key refused"
	}, "waiting for the restarted key-b's /ready to say its gossip key is refused")
	if restarted.proc.exited() {
		t.Fatalf("the restarted node exited: %s", restarted.proc.exitText())
	}
}
