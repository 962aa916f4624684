package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestSessionBoundEvictsIdle: a principal that initializes past its bound
// loses its own least recently used idle sessions (404 afterwards) and
// keeps its newest; other principals, an admin and another node's link
// initialize as before, and their sessions stay.
func TestSessionBoundEvictsIdle(t *testing.T) {
	const perPrincipal = 5
	n := startNode(t, nodeOptions{sessions: [2]int{20, perPrincipal}})
	base, flood := n.srv.URL, tokenFor(t, "flood@example.com", ScopeMCP, "")
	bob := tokenFor(t, "bob@example.com", ScopeMCP, "")
	bobSession := initSession(t, base, bob)
	sids := make([]string, 0, perPrincipal+50)
	for range perPrincipal {
		sids = append(sids, initSession(t, base, flood))
	}
	if code := pingIn(t, base, flood, sids[0]); code != http.StatusOK { // the oldest is now the most recently used
		t.Fatalf("ping in the first session: %d", code)
	}
	sids = append(sids, initSession(t, base, flood))
	if pingIn(t, base, flood, sids[1]) != http.StatusNotFound || pingIn(t, base, flood, sids[0]) != http.StatusOK {
		t.Fatalf("at the bound, the least recently used session (the second) must go, not the oldest (the first)")
	}
	for len(sids) < cap(sids) {
		sids = append(sids, initSession(t, base, flood))
	}
	for i, sid := range sids[2:] {
		want := http.StatusNotFound
		if i >= len(sids)-2-perPrincipal {
			want = http.StatusOK
		}
		if got := pingIn(t, base, flood, sid); got != want {
			t.Errorf("flood session %d of %d: ping %d, want %d", i+2, len(sids), got, want)
		}
	}
	if code := pingIn(t, base, bob, bobSession); code != http.StatusOK {
		t.Errorf("bob's session after the flood: %d, want 200", code)
	}
	for name, tok := range map[string]string{"another principal": tokenFor(t, "carol@example.com", ScopeMCP, ""),
		"admin": n.admin, "another node's link": nodeTokenFor(t, "gw-b", "node-a")} {
		if sid := initSession(t, base, tok); pingIn(t, base, tok, sid) != http.StatusOK {
			t.Errorf("%s: its new session does not answer", name)
		}
	}
}

// TestSessionBoundBusy: sessions with something attached are never
// evicted. A principal whose sessions are all busy gets 503 with
// Retry-After naming its bound; at the node's bound anyone's idle session
// goes first, and with none left clients get 503 naming max-sessions,
// while another node's link still gets a session from its own budget.
func TestSessionBoundBusy(t *testing.T) {
	n := startNode(t, nodeOptions{sessions: [2]int{6, 3}})
	base := n.srv.URL
	a, b := tokenFor(t, "a@example.com", ScopeMCP, ""), tokenFor(t, "b@example.com", ScopeMCP, "")
	for range 3 {
		openGET(t, base, a, initSession(t, base, a))
	}
	check503(t, mcpDo(t, base, a, mcpRequest{http.MethodPost, initializeBody, nil}), "max-sessions-per-principal")
	for range 2 {
		openGET(t, base, b, initSession(t, base, b))
	}
	idle := initSession(t, base, b)
	c := tokenFor(t, "c@example.com", ScopeMCP, "")
	openGET(t, base, c, initSession(t, base, c))
	if code := pingIn(t, base, b, idle); code != http.StatusNotFound {
		t.Errorf("b's idle session, the only one evictable at the node's bound: ping %d, want 404", code)
	}
	d := tokenFor(t, "d@example.com", ScopeMCP, "")
	check503(t, mcpDo(t, base, d, mcpRequest{http.MethodPost, initializeBody, nil}), "max-sessions")
	link := nodeTokenFor(t, "gw-b", "node-a")
	if sid := initSession(t, base, link); pingIn(t, base, link, sid) != http.StatusOK {
		t.Errorf("another node's link at the clients' bound: its session does not answer")
	}
	metrics := string(n.do(t, http.MethodGet, "/metrics", "", "").body)
	for _, line := range []string{
		`mcpmesh_mcp_session_bound_total{action="refused",bound="max-sessions-per-principal"} 1`,
		`mcpmesh_mcp_session_bound_total{action="evicted",bound="max-sessions"} 1`,
		`mcpmesh_mcp_session_bound_total{action="refused",bound="max-sessions"} 1`,
		`mcpmesh_mcp_sessions{pool="clients"} 6`, `mcpmesh_mcp_sessions{pool="nodes"} 1`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

func check503(t *testing.T, r response, bound string) {
	t.Helper()
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("initialize over the %s bound: %d %s, want 503", bound, r.code, r.body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Errorf("Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	if msg := r.errorText(t); !strings.Contains(msg, "the "+bound+" bound") {
		t.Errorf("error %q does not name the %s bound", msg, bound)
	}
}

// TestSessionBoundSparesLinks: with a node's client sessions all taken and
// busy, another node's link to it still opens its session: the peer's
// tools are listed and called across the ring.
func TestSessionBoundSparesLinks(t *testing.T) {
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.MaxSessions, c.MaxSessionsPerPrincipal = 2, 1 })
	b := startFedNode(t, "gw-b")
	for _, sub := range []string{"x@example.com", "y@example.com"} {
		tok := tokenFor(t, sub, ScopeMCP, "")
		openGET(t, a.url, tok, initSession(t, a.url, tok))
	}
	check503(t, mcpDo(t, a.url, a.admin, mcpRequest{http.MethodPost, initializeBody, nil}), "max-sessions")
	addFedPeer(t, b, a, "a", "full")
	wait.For(t, 10*time.Second, func() bool { return b.list(t).has("a__whoami") }, "waiting for b to list a's tools through its link")
	if p := b.peer(t, "a"); p.Status != api.PeerOnline || p.Tools == 0 || p.Error != "" {
		t.Errorf("b's peer a: status %s, %d tools, error %q; want online with tools", p.Status, p.Tools, p.Error)
	}
	if res := b.call(t, "a__whoami"); res.IsError || res.text() != "gw-a" {
		t.Fatalf("a__whoami through b's link to a full node: %+v, want gw-a", res)
	}
}
