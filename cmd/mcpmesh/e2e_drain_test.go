package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// callOutcome is how a tools/call sent in the background ended: its HTTP
// answer, or the error that cut it.
type callOutcome struct {
	status int
	body   string
	err    error
}

// callInBackground sends a plain POST tools/call of sleep {ms} to n and
// reports its outcome on the returned channel.
func callInBackground(n *node, ms int) <-chan callOutcome {
	out := make(chan callOutcome, 1)
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call",
		"params": map[string]any{"name": "sleep", "arguments": map[string]any{"ms": ms}}})
	go func() {
		req, _ := http.NewRequest(http.MethodPost, n.mcpURL(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+n.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			out <- callOutcome{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- callOutcome{status: resp.StatusCode, body: string(b), err: err}
	}()
	return out
}

var inFlightMetric = regexp.MustCompile(`(?m)^mcpmesh_requests_in_flight (\d+)`)

// inFlight is n's mcpmesh_requests_in_flight ("" when /metrics does not answer).
func inFlight(n *node) string {
	resp, err := httpClient.Get(n.url + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := inFlightMetric.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// status is the HTTP status n answers a GET of path with (0: no answer).
func status(n *node, path string) int {
	resp, err := httpClient.Get(n.url + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// memberStatus is the status peer has in n's member list ("" if absent).
func memberStatus(t *testing.T, n *node, peer string) string {
	var members []api.Member
	ringGet(t, n, "/api/federation/members", &members)
	for _, m := range members {
		if m.Name == peer {
			return m.Status
		}
	}
	return ""
}

// sigterm sends SIGTERM to n's process once a call is running on it.
func sigterm(t *testing.T, n *node) {
	t.Helper()
	wait.For(t, ringTimeout, func() bool { return inFlight(n) == "1" },
		"the sleep call to be in flight on %s", n.name)
	if err := n.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", n.name, err)
	}
}

// TestDrainFinishesCallsInFlight: on SIGTERM /ready answers 503 at once, a
// new call gets 503 with Retry-After, the call in flight completes with its
// result, the node leaves the ring (its peer sees it left, not dead) and
// exits 0.
func TestDrainFinishesCallsInFlight(t *testing.T) {
	a := startMeshNode(t, "drain-a")
	b := startMeshNode(t, "drain-b", "--join", ringInfo(t, a).GossipAddress)
	wait.For(t, ringTimeout, func() bool { return memberStatus(t, b, "drain-a") == "alive" }, "drain-b to see drain-a alive")
	call := callInBackground(a, 2000)
	sigterm(t, a)
	wait.For(t, ringTimeout, func() bool { return a.proc.exited() || status(a, "/ready") == http.StatusServiceUnavailable },
		"/ready on the draining node to answer 503")
	if a.proc.exited() {
		t.Fatalf("the node exited before its call in flight finished")
	}
	r := a.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`), nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "node is shutting down") {
		t.Errorf("new call while draining: %d Retry-After %q %s, want 503 with Retry-After, node is shutting down",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	got := <-call
	if got.err != nil || got.status != http.StatusOK || !strings.Contains(got.body, "slept") || strings.Contains(got.body, `"isError":true`) {
		t.Errorf("call in flight: %d %q %v, want 200 with its result", got.status, got.body, got.err)
	}
	<-a.proc.done
	if a.proc.err != nil {
		t.Errorf("drained node exited with %v, want status 0", a.proc.err)
	}
	wait.For(t, ringTimeout, func() bool { return memberStatus(t, b, "drain-a") == "left" },
		"drain-b to see drain-a left (it is %s)", wait.Later(func() any { return memberStatus(t, b, "drain-a") }))
}

// TestDrainTimeoutCutsCalls: a call that outlives --drain-timeout is cut,
// the node says how many it cut and exits 0.
func TestDrainTimeoutCutsCalls(t *testing.T) {
	a := startMeshNode(t, "drain-cut", "--drain-timeout", "500ms")
	call := callInBackground(a, 5000)
	sigterm(t, a)
	<-a.proc.done
	if a.proc.err != nil {
		t.Errorf("node exited with %v, want status 0", a.proc.err)
	}
	if got := <-call; got.err == nil && got.status == http.StatusOK && !strings.Contains(got.body, `"isError":true`) && !strings.Contains(got.body, `"error"`) {
		t.Errorf("call cut by the drain timeout answered %d %s, want an error or a closed connection", got.status, got.body)
	}
	logs := a.proc.out.String()
	if !regexp.MustCompile(`drain timeout: cutting calls still running.*calls=1`).MatchString(logs) {
		t.Errorf("log has no line saying 1 call was cut:\n%s", logs)
	}
}

// TestDrainEndsStreams: an open subscriptions/listen stream does not hold
// the drain (even with an hour's --drain-timeout): it ends with its
// result, and the node exits 0.
func TestDrainEndsStreams(t *testing.T) {
	a := startMeshNode(t, "drain-streams", "--drain-timeout", "1h")
	body := []byte(`{"jsonrpc":"2.0","id":9,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	req, _ := http.NewRequest(http.MethodPost, a.mcpURL(), bytes.NewReader(body))
	for k, v := range map[string]string{"Authorization": "Bearer " + a.token, "Content-Type": "application/json",
		"Accept": "application/json, text/event-stream", "Mcp-Method": "subscriptions/listen", "MCP-Protocol-Version": "2026-07-28"} {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{}).Do(req) // no client timeout: the stream lasts until the node ends it
	if err != nil {
		t.Fatalf("subscriptions/listen: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var head strings.Builder
	for sc.Scan() && !strings.Contains(sc.Text(), "notifications/subscriptions/acknowledged") {
		head.WriteString(sc.Text() + "\n")
	}
	if sc.Err() != nil || !strings.Contains(sc.Text(), "acknowledged") {
		t.Fatalf("subscriptions/listen: %d, no acknowledgement (%v):\n%s", resp.StatusCode, sc.Err(), head.String())
	}
	if err := a.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	<-a.proc.done
	if a.proc.err != nil {
		t.Errorf("node exited with %v, want status 0", a.proc.err)
	}
	if !strings.Contains(rest.String(), `"resultType":"complete"`) {
		t.Errorf("listen stream ended without its result; rest of the stream:\n%s", rest.String())
	}
	if logs := a.proc.out.String(); !strings.Contains(logs, "drained: no call in flight") {
		t.Errorf("log does not say the drain found no call in flight:\n%s", logs)
	}
}
