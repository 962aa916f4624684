package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// fakeNode is an HTTP server on 127.0.0.1 that is no ring member: it
// answers GET /api/federation/info with a claim of the test's choosing and
// records the bearer token of every request it is sent.
type fakeNode struct {
	url   string
	claim string

	mu     sync.Mutex
	tokens []string
}

func startFakeNode(t *testing.T, claim string) *fakeNode {
	t.Helper()
	f := &fakeNode{claim: claim}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			f.mu.Lock()
			f.tokens = append(f.tokens, tok)
			f.mu.Unlock()
		}
		if r.URL.Path != "/api/federation/info" {
			http.Error(w, "not a node", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.claim))
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// claimInfo is an info answer claiming to be member name at gossip.
func claimInfo(name, gossip, url string) string {
	b, _ := json.Marshal(api.Info{Name: name, Version: "test", GossipAddress: gossip, URL: url})
	return string(b)
}

// audiences returns the audiences of the node tokens the fake was sent.
func (f *fakeNode) audiences(t *testing.T) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, tok := range f.tokens {
		var c Claims
		if _, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil {
			t.Fatalf("the fake was sent a token it cannot read: %v", err)
		}
		out = append(out, c.Audience...)
	}
	return out
}

// checkNoMemberToken fails if the fake was sent a token naming a node.
func (f *fakeNode) checkNoMemberToken(t *testing.T) {
	t.Helper()
	for _, aud := range f.audiences(t) {
		if aud != audInfo {
			t.Errorf("the fake at %s was sent a node token for %q (good on that node for an hour)", f.url, aud)
		}
	}
}

// startFedRing starts nodes called names, all joined to the first.
func startFedRing(t *testing.T, names ...string) []*fedNode {
	t.Helper()
	nodes := make([]*fedNode, len(names))
	members := make([]*cluster.Node, len(names))
	for i, name := range names {
		nodes[i] = startFedNode(t, name)
		members[i] = nodes[i].node
		if i > 0 {
			if _, err := nodes[i].node.Join([]string{nodes[0].node.GossipAddr()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	clustertest.WaitAllAlive(t, members, 15*time.Second)
	return nodes
}

// TestAddPeerImpostorURL: a URL whose /api/federation/info claims to be a
// ring member is refused unless that member gossips the URL's address; a
// claim to be a member that is not in the ring is refused too. Nothing is
// written anywhere in the ring, and the fakes get no node token.
func TestAddPeerImpostorURL(t *testing.T) {
	nodes := startFedRing(t, "gw-a", "gw-b", "gw-c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	claimC := startFakeNode(t, "")
	claimC.claim = claimInfo("gw-c", c.node.GossipAddr(), claimC.url)
	ghostViaB := startFakeNode(t, claimInfo("gw-ghost", b.node.GossipAddr(), ""))
	ghostNowhere := startFakeNode(t, claimInfo("gw-ghost", strings.TrimPrefix(closedURL(t), "http://"), ""))
	garbage := startFakeNode(t, `{"name":"Not A Name!","gossip_address":"x"}`)
	post := func(name, body string, status int, mention ...string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "/api/federation/peers", body: body, status: status, mention: mention}
	}
	runBadCases(t, a, []badCase{
		post("url claiming an alive member", `{"url":"`+claimC.url+`"}`, 409, claimC.url, c.url, "gw-c"),
		post("same, with a name", `{"url":"`+claimC.url+`","name":"cee"}`, 409, claimC.url, c.url),
		post("claims a member that does not exist", `{"url":"`+ghostViaB.url+`"}`, 502, ghostViaB.url, "gw-ghost"),
		post("claims a member at a dead gossip address", `{"url":"`+ghostNowhere.url+`"}`, 502, ghostNowhere.url),
		post("answers as no node would", `{"url":"`+garbage.url+`"}`, 502, garbage.url, "name"),
	})
	for _, n := range nodes {
		if recs := n.node.Registry().All(); len(recs) != 0 {
			t.Errorf("%s holds records after refused adds: %+v", n.name, recs)
		}
		if _, ok := n.node.Member("gw-ghost"); ok {
			t.Errorf("%s lists a member gw-ghost", n.name)
		}
	}
	for _, f := range []*fakeNode{claimC, ghostViaB, ghostNowhere, garbage} {
		f.checkNoMemberToken(t)
	}
}

// TestAddPeerSameAddressOtherForm: the seed adds http://localhost:PORT for a
// node gossiping http://127.0.0.1:PORT; that is the same address, so it is
// accepted, the record keeps the admin's form and calls reach the peer.
func TestAddPeerSameAddressOtherForm(t *testing.T) {
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	local := strings.Replace(b.url, "127.0.0.1", "localhost", 1)
	r := a.do(t, http.MethodPost, "/api/federation/peers", a.admin, `{"url":"`+local+`","name":"b"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("add %s for a node gossiping %s: %d %s; want 201", local, b.url, r.code, r.body)
	}
	if p := decode[api.Peer](t, r.body); p.URL != local || p.Member != "gw-b" {
		t.Errorf("record %+v; want url %s (the admin's) and member gw-b", p, local)
	}
	if res := a.call(t, "b__whoami"); res.IsError || res.text() != "gw-b" {
		t.Errorf("b__whoami: %+v; want gw-b", res)
	}
}

// TestNodeTokensOnlyToGossipedURL: records whose URL is not the address
// their member gossips (written by an older node, or straight into the
// registry) never make a node send that URL a token naming a member: not
// through links, forwarded calls, the keyring fan-out or any request
// addressed to a node.
func TestNodeTokensOnlyToGossipedURL(t *testing.T) {
	nodes := startFedRing(t, "gw-a", "gw-b", "gw-c")
	a, c := nodes[0], nodes[2]
	fake := startFakeNode(t, claimInfo("gw-b", nodes[1].node.GossipAddr(), ""))
	reg := a.node.Registry()
	for _, rec := range []cluster.PeerRecord{
		{Name: "bee", Member: "gw-b", URL: fake.url, TrustLevel: cluster.TrustFull},
		{Name: "cee", Member: "gw-c", URL: fake.url, TrustLevel: cluster.TrustFull},
	} {
		if _, err := reg.Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.node.Close(ctx); err != nil { // c leaves: its record's URL is all that is left of it
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool { return clustertest.StateOf(a.node, "gw-c") == cluster.StateLeft },
		"gw-a to see gw-c leave")
	if _, err := reg.Add(cluster.PeerRecord{Name: "ghost", Member: "gw-ghost", URL: fake.url, TrustLevel: cluster.TrustFull}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bee", "cee", "ghost"} {
		a.gw.fed.WaitLinked(ctx, name) // each link's first attempt is over
	}
	if res := a.call(t, "bee__whoami"); res.IsError || res.text() != "gw-b" {
		t.Errorf("bee__whoami went elsewhere than gw-b's gossiped URL: %+v", res)
	}
	for _, tool := range []string{"cee__whoami", "ghost__whoami"} {
		if res := a.call(t, tool); !res.IsError {
			t.Errorf("%s: %+v; want a federation failure", tool, res)
		}
	}
	if r := a.do(t, http.MethodGet, "/api/federation/keyring", a.admin, ""); r.code != http.StatusOK {
		t.Errorf("keyring list: %d %s", r.code, r.body)
	}
	for _, member := range []string{"gw-b", "gw-c", "gw-ghost"} {
		req, _ := http.NewRequestWithContext(federation.ToNode(ctx, member), http.MethodGet, fake.url+"/mcp", nil)
		if resp, err := a.gw.fed.HTTPClient().Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("a request to %s addressed to %s was sent", fake.url, member)
		} else if !strings.Contains(err.Error(), "withheld") {
			t.Errorf("a request to %s addressed to %s failed with %v; want the token withheld", fake.url, member, err)
		}
	}
	fake.checkNoMemberToken(t)
	if p := a.peer(t, "bee"); p.URL != fake.url || p.Status != api.PeerOnline {
		t.Errorf("peer bee %+v; want the record's url kept and status online (its link follows gw-b)", p)
	}
	if p := a.peer(t, "ghost"); p.Status != api.PeerOffline || !strings.Contains(p.Error, "gossips no url") {
		t.Errorf("peer ghost %+v; want offline with the reason (its member gossips no url)", p)
	}
}
