package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// rollingLoad is read-only load through a balancer: callers that each send
// plain tools/call POSTs of echo, one after another, until stopped, and
// keep every failure.
type rollingLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	calls    int
	failures []string
}

// startRollingLoad starts callers sending echo calls to url with token.
func startRollingLoad(url, token string, callers int) *rollingLoad {
	l := &rollingLoad{stop: make(chan struct{})}
	for i := range callers {
		l.wg.Add(1)
		go l.caller(url, token, i)
	}
	return l
}

func (l *rollingLoad) caller(url, token string, id int) {
	defer l.wg.Done()
	client := &http.Client{Timeout: ringTimeout}
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		default:
		}
		text := fmt.Sprintf("c%d-%d", id, k)
		err := echoThrough(client, url, token, text)
		l.mu.Lock()
		l.calls++
		if err != nil {
			l.failures = append(l.failures, err.Error())
		}
		l.mu.Unlock()
	}
}

// echoThrough makes one echo call of text and checks that its answer is
// that text.
func echoThrough(client *http.Client, url, token, text string) error {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": text}}})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", acceptBoth)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("echo %s: %w", text, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"isError":true`) || !strings.Contains(string(b), text) {
		return fmt.Errorf("echo %s: %d %s", text, resp.StatusCode, b)
	}
	return nil
}

// end stops the callers and reports how many calls they made and the
// failures.
func (l *rollingLoad) end() (int, []string) {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls, l.failures
}

// sent is how many calls the callers have made so far.
func (l *rollingLoad) sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// TestRollingRestartBehindBalancer (issue 11 item 6): three nodes of one
// ring behind a round-robin balancer that sends a request refused by one
// node (connection refused, or 503 from a draining node, or a kept-alive
// connection the node closed) to the next, as a balancer configured for
// read-only traffic does. Under read-only load from 4 callers, each node in
// turn gets SIGTERM (it drains: /ready and new requests 503 at once, calls
// in flight finish, it leaves the ring and exits 0), is started again on its
// data dir (it rejoins from what its store kept) and takes its place in the
// balancer. No call fails.
func TestRollingRestartBehindBalancer(t *testing.T) {
	ring := startBalancedRing(t, "roll")
	ring.lb.retryReused = true
	token := ring.nodes[0].token
	load := startRollingLoad(ring.mcpURL(), token, 4)
	defer func() {
		if load != nil {
			load.end()
		}
	}()
	for i := range ring.nodes {
		rollNode(t, ring, i, load)
	}
	calls, failures := load.end()
	load = nil
	t.Logf("rolling restart of %d nodes: %d calls, %d failed; balancer tries per backend %v", len(ring.nodes), calls, len(failures), ring.lb.Sent())
	if len(failures) > 0 {
		t.Errorf("%d of %d calls failed during the rolling restart; first: %s", len(failures), calls, failures[0])
	}
}

// rollNode restarts ring.nodes[i] under load: SIGTERM, wait for its exit
// (status 0, no call cut), start it again on its data dir, put its new
// address in the balancer, wait until the ring sees it alive and the load
// has gone on.
func rollNode(t *testing.T, ring balancedRing, i int, load *rollingLoad) {
	old := ring.nodes[i]
	before := load.sent()
	wait.For(t, ringTimeout, func() bool { return load.sent() >= before+20 }, "load to run before %s restarts", old.name)
	if err := old.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", old.name, err)
	}
	<-old.proc.done
	if old.proc.err != nil || strings.Contains(old.proc.out.String(), "cutting calls") {
		t.Errorf("%s exited with %v after its drain; want status 0 and no call cut:\n%s", old.name, old.proc.err, old.proc.out)
	}
	fresh := startNode(t, nodeOptions{name: old.name, demo: true, dataDir: old.dataDir, extra: []string{"--gossip", "127.0.0.1:0"}})
	ring.nodes[i] = fresh
	urls := make([]string, len(ring.nodes))
	names := make([]string, len(ring.nodes))
	for k, n := range ring.nodes {
		urls[k], names[k] = n.url, n.name
	}
	ring.lb.SetBackends(t, urls...)
	slices.Sort(names)
	for _, n := range ring.nodes {
		wait.For(t, ringTimeout, func() bool { return slices.Equal(ringAlive(t, n), names) },
			"%s to see %v alive after %s restarted", n.name, names, old.name)
	}
	after := load.sent()
	wait.For(t, ringTimeout, func() bool { return load.sent() >= after+20 }, "load to go on after %s restarted", old.name)
}
