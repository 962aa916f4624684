package main

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"testing"

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

// TestReadyAfterJoining: a node whose seed is not up answers /ready with
// 503 saying it has not joined; once the seed comes up and it joins, 200.
func TestReadyAfterJoining(t *testing.T) {
	seedAddr := freeAddr(t)
	b := startUnready(t, "ready-b", "--join", seedAddr)
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
