package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestRingListChanged (issue 10 item 7): clients on node A hear that the
// lists they see changed wherever in the ring the change happened, and
// their next listing shows it: an upstream added on peer C (over C's REST
// API), A's trust in C changed (PATCH on A), C stopped gracefully,
// restarted, and killed. The clients are the go-sdk v1.8 client on
// 2026-07-28 (it opens subscriptions/listen itself), a go-sdk 2025-11-25
// session (list_changed on its GET stream), mcp-go v1.2.1's
// subscriptions/listen, and a 2026 go-sdk client on /mcp/peers/c; a session
// on /mcp/peers/b, which sees nothing of C, hears none of it.
func TestRingListChanged(t *testing.T) {
	r := startListRing(t)
	r.watchAll(t)
	t.Run("upstream added on C", func(t *testing.T) {
		r.logged(t, cState{whoami: true, ev: true}, func() {
			entry := map[string]any{"name": "ev", "command": buildBinaries(t).everything, "prefix": "ev"}
			if res := r.c.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); res.status != http.StatusCreated {
				t.Fatalf("POST /api/servers on C: status %d, body %s; want 201", res.status, res.body)
			}
		})
	})
	t.Run("trust none", func(t *testing.T) { r.logged(t, cState{}, func() { r.setTrust(t, "none") }) })
	t.Run("trust full again", func(t *testing.T) {
		r.logged(t, cState{whoami: true, ev: true}, func() { r.setTrust(t, "full") })
	})
	t.Run("trust discover", func(t *testing.T) { r.checkDiscover(t) })
	t.Run("C stops", func(t *testing.T) { r.logged(t, cState{}, func() { r.c.proc.stopClean(t) }) })
	t.Run("C restarts", func(st *testing.T) {
		r.logged(st, cState{whoami: true, ev: true}, func() { r.restartC(t) }) // C lives on past this subtest
	})
	t.Run("C killed", func(t *testing.T) { r.logged(t, cState{}, r.killC) })
	t.Run("a caller that cannot see C hears nothing", func(t *testing.T) {
		if got := r.blind.counts(); got != [3]int64{} {
			t.Errorf("the session on /mcp/peers/b heard list changes %v (tools, prompts, resources) of C's changes, want none", got)
		}
	})
}

// listRing is A with peers b and c, and the clients on A that listen.
type listRing struct {
	a, b, c *node
	// seeC are the clients that see C's entries: on /mcp (named c__<name>)
	// and on /mcp/peers/c (C's own names).
	seeC map[*listWatch]string // the prefix C's entries carry there
	// blind is a legacy session on /mcp/peers/b.
	blind *listWatch
	last  cState // what the clients list now
}

// startListRing starts A, B and C (B and C join A's gossip), makes b and
// c A's peers (trust full), and waits until A lists both.
func startListRing(t testing.TB) *listRing {
	t.Helper()
	a := startMeshNode(t, "ra")
	gossip := ringInfo(t, a).GossipAddress
	r := &listRing{a: a, b: startMeshNode(t, "rb", "--join", gossip), c: startMeshNode(t, "rc", "--join", gossip),
		seeC: map[*listWatch]string{}, last: cState{whoami: true}}
	ringAddPeer(t, a, r.b.url, "b", "full")
	ringAddPeer(t, a, r.c.url, "c", "full")
	wait.For(t, ringTimeout, func() bool { l := ringList(t, a); return l.has("b__whoami") && l.has("c__whoami") },
		"waiting for A to list b__whoami and c__whoami")
	return r
}

// watchAll opens every client of the test on A.
func (r *listRing) watchAll(t *testing.T) {
	a := r.a
	legacy := sdkWatch(t, "go-sdk 2025-11-25 session on /mcp", a.mcpURL(), a.token, legacyVersion)
	r.seeC[sdkWatch2026(t, "go-sdk 2026-07-28 on /mcp", a.mcpURL(), a.token)] = "c__"
	r.seeC[legacy] = "c__"
	r.seeC[mcpGoWatch(t, "mcp-go 2026-07-28 on /mcp", a.mcpURL(), a.token)] = "c__"
	r.seeC[sdkWatch2026(t, "go-sdk 2026-07-28 on /mcp/peers/c", a.url+"/mcp/peers/c", a.token)] = ""
	r.blind = sdkWatch(t, "go-sdk 2025-11-25 session on /mcp/peers/b", a.url+"/mcp/peers/b", a.token, legacyVersion)
}

// restartC starts C again on its data dir (new ports); it rejoins the ring
// from what its store kept. It lives until tb ends.
func (r *listRing) restartC(tb testing.TB) {
	r.c = startNode(tb, nodeOptions{name: "rc", demo: true, dataDir: r.c.dataDir, extra: []string{"--gossip", "127.0.0.1:0"}})
}

func (r *listRing) killC() {
	_ = r.c.proc.cmd.Process.Kill()
	<-r.c.proc.done
}

// cState is which of C's entries A's clients should list: C's demo tool
// whoami, and the entries of the everything-server upstream "ev" (a tool,
// a prompt and a resource).
type cState struct{ whoami, ev bool }

// kinds are the lists that differ between s and o.
func (s cState) kinds(o cState) []listKind {
	var out []listKind
	if s.whoami != o.whoami || s.ev != o.ev {
		out = append(out, kindTools)
	}
	if s.ev != o.ev {
		out = append(out, kindPrompts, kindResources)
	}
	return out
}

// shows reports whether l, as listed where C's entries carry prefix, is s.
func (s cState) shows(prefix string) func(listing) bool {
	return func(l listing) bool {
		return slices.Contains(l[kindTools], prefix+"whoami") == s.whoami &&
			slices.Contains(l[kindTools], prefix+"ev__test_simple_text") == s.ev &&
			slices.Contains(l[kindPrompts], prefix+"ev__test_simple_prompt") == s.ev &&
			slices.Contains(l[kindResources], "test://static-text") == s.ev
	}
}

// expect runs change and waits until every client that sees C heard a
// list change of each kind that differs, after which its lists show want;
// it returns how long after change began the last client heard it.
func (r *listRing) expect(t testing.TB, want cState, change func()) time.Duration {
	t.Helper()
	before := map[*listWatch][3]int64{}
	for w := range r.seeC {
		before[w] = w.counts()
	}
	kinds := want.kinds(r.last)
	start := time.Now()
	change()
	var last time.Time
	for w, prefix := range r.seeC {
		if at := w.awaitChange(t, before[w], kinds, want.shows(prefix), want.String()); at.After(last) {
			last = at
		}
	}
	r.last = want
	return last.Sub(start)
}

func (s cState) String() string {
	return fmt.Sprintf("C's whoami listed: %v, C's upstream ev listed: %v", s.whoami, s.ev)
}

// logged is expect, logging how long it took.
func (r *listRing) logged(t *testing.T, want cState, change func()) {
	t.Helper()
	t.Logf("every client heard it %v after the change began", r.expect(t, want, change).Round(time.Millisecond))
}

// setTrust PATCHes A's trust in C.
func (r *listRing) setTrust(t testing.TB, level string) {
	t.Helper()
	body := mustJSON(map[string]string{"trust_level": level})
	if res := r.a.do(t, http.MethodPatch, "/api/federation/peers/c", body, nil); res.status != http.StatusOK {
		t.Fatalf("PATCH /api/federation/peers/c to %s on A: status %d, body %s; want 200", level, res.status, res.body)
	}
}

// checkDiscover: trust "discover" lists what "full" lists (only calls are
// refused), so A's lists do not change; back at "full", calls go through.
func (r *listRing) checkDiscover(t *testing.T) {
	r.setTrust(t, "discover")
	var res callResult
	wait.For(t, ringTimeout, func() bool {
		res = ringCall(t, r.a, "c__whoami", map[string]any{})
		return res.IsError && res.Meta["mcpmesh/error"] == "peer_not_trusted"
	}, "waiting for c__whoami refused as peer_not_trusted at trust discover; last %+v", wait.Later(func() any { return res }))
	for w, prefix := range r.seeC {
		if l, err := w.list(context.Background()); err != nil || !r.last.shows(prefix)(l) {
			t.Errorf("%s at trust discover lists %v (err %v), want %s", w.name, l, err, r.last)
		}
	}
	r.setTrust(t, "full")
	wait.For(t, ringTimeout, func() bool {
		res = ringCall(t, r.a, "c__whoami", map[string]any{})
		return !res.IsError
	}, "waiting for c__whoami to answer at trust full; last %+v", wait.Later(func() any { return res }))
}
