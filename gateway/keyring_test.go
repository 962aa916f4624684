package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// keyRing starts three nodes a, b, c, each the others' full peer.
func keyRing(t *testing.T) []*fedNode {
	t.Helper()
	nodes := []*fedNode{startFedNode(t, "a"), startFedNode(t, "b"), startFedNode(t, "c")}
	addFedPeer(t, nodes[0], nodes[1], "b", cluster.TrustFull)
	addFedPeer(t, nodes[0], nodes[2], "c", cluster.TrustFull)
	wait.For(t, 15*time.Second, func() bool {
		return nodes[1].node.NumMembers() == 3 && nodes[2].node.NumMembers() == 3 && nodes[0].list(t).has("c__whoami")
	}, "the ring of a, b, c never formed")
	return nodes
}

func (n *fedNode) keyring(t *testing.T, method, body string) (api.KeyringResult, response) {
	t.Helper()
	r := n.do(t, method, "/api/federation/keyring", n.admin, body)
	var res api.KeyringResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatalf("%s /api/federation/keyring: %d %q is not a keyring answer", method, r.code, r.body)
	}
	return res, r
}

func keyBody(key []byte) string { return `{"key":"` + cluster.EncodeKey(key) + `"}` }

// count is how many nodes hold key and use it as primary, per res.
func count(res api.KeyringResult, key []byte) (nodes, primary int) {
	for _, k := range res.Keys {
		if k.Key == cluster.EncodeKey(key) {
			return k.Nodes, k.Primary
		}
	}
	return 0, 0
}

// callLoop calls b__whoami and c__whoami through a until stop, counting
// the calls and the failures.
func callLoop(t *testing.T, a *fedNode) (stop func() (calls, failures int64)) {
	var calls, fails atomic.Int64
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			tool := []string{"b__whoami", "c__whoami"}[i%2]
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
			req, _ := http.NewRequest(http.MethodPost, a.url+"/mcp", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+a.admin)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			calls.Add(1)
			if err != nil {
				fails.Add(1)
				continue
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(buf.String(), `"text":"`+tool[:1]+`"`) {
				fails.Add(1)
			}
		}
	}()
	var once sync.Once
	return func() (int64, int64) {
		once.Do(func() { close(quit); <-done })
		return calls.Load(), fails.Load()
	}
}

// TestKeyringRotationREST rotates a three-node ring from key A to key B over
// REST while calls flow through it: every step reaches every node, bad and
// unsafe requests change nothing, no call fails, and a node holding only A
// is refused afterwards.
func TestKeyringRotationREST(t *testing.T) {
	nodes := keyRing(t)
	a, oldKey, newKey := nodes[0], clustertest.Key, bytes.Repeat([]byte{42}, 32)
	stop := callLoop(t, a)
	defer stop()

	res, r := a.keyring(t, http.MethodGet, "")
	if held, prim := count(res, oldKey); r.code != http.StatusOK || res.NumNodes != 3 || held != 3 || prim != 3 {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	refuse(t, a, http.MethodPut, "", keyBody(newKey), http.StatusConflict, "not installed on a, b, c")
	refuse(t, a, http.MethodDelete, "", keyBody(oldKey), http.StatusConflict, "primary key on a, b, c")
	for _, step := range []struct {
		method string
		key    []byte
	}{{http.MethodPost, newKey}, {http.MethodPut, newKey}, {http.MethodDelete, oldKey}} {
		res, r := a.keyring(t, step.method, keyBody(step.key))
		if r.code != http.StatusOK || res.NumOK != 3 || res.NumFailed != 0 {
			t.Fatalf("%s: %d %s", step.method, r.code, r.body)
		}
	}
	res, _ = a.keyring(t, http.MethodGet, "")
	if held, prim := count(res, newKey); held != 3 || prim != 3 || len(res.Keys) != 1 {
		t.Fatalf("after the rotation: %+v", res.Keys)
	}
	gossipStillFlows(t, nodes)
	calls, fails := stop()
	if calls == 0 || fails != 0 {
		t.Fatalf("%d of %d calls failed during the rotation", fails, calls)
	}
	t.Logf("%d calls through the rotation, none failed", calls)
	cfg := clustertest.Config("stale", openBadger(t, t.TempDir())) // holds only the old key
	stale := clustertest.StartNode(t, cfg)
	if _, err := stale.Join([]string{a.node.GossipAddr()}); err == nil {
		t.Fatal("a node holding only the old key joined the rotated ring")
	}
}

// gossipStillFlows writes to the registry on the first node and waits for
// every node to hold the write and see every member alive.
func gossipStillFlows(t *testing.T, nodes []*fedNode) {
	t.Helper()
	probe := cluster.PeerRecord{Name: "probe", Member: "ghost", URL: "http://127.0.0.1:1", TrustLevel: cluster.TrustNone}
	if _, err := nodes[0].node.Registry().Put(probe); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool {
		for _, n := range nodes {
			_, ok := n.node.Registry().Get("probe")
			if !ok || n.node.NumMembers() != len(nodes) {
				return false
			}
		}
		return true
	}, "a registry write after the rotation never reached every node")
}

// TestKeyringPartialFailure: a member whose HTTP port refuses is named as
// failed, with the others' results; use is then refused as unverifiable.
func TestKeyringPartialFailure(t *testing.T) {
	nodes := keyRing(t)
	a, c, newKey := nodes[0], nodes[2], bytes.Repeat([]byte{43}, 32)
	c.cutHTTP()
	res, r := a.keyring(t, http.MethodPost, keyBody(newKey))
	if r.code != http.StatusBadGateway || res.NumOK != 2 || res.NumFailed != 1 || !strings.Contains(res.Error, "c (") {
		t.Fatalf("install with c unreachable: %d %s", r.code, r.body)
	}
	if held, _ := count(res, newKey); held != 2 {
		t.Fatalf("%d nodes hold the new key, want 2: %s", held, r.body)
	}
	res, r = a.keyring(t, http.MethodPut, keyBody(newKey))
	if r.code != http.StatusBadGateway || !strings.Contains(res.Error, "nothing changed") {
		t.Fatalf("use with c unreachable: %d %s", r.code, r.body)
	}
	if st, _ := a.node.Keyring(); st.Primary != cluster.EncodeKey(clustertest.Key) {
		t.Fatal("a refused use changed a's primary key")
	}
}

// refuse checks a keyring request is refused with status and a message
// containing want, and that the ring's keys did not change.
func refuse(t *testing.T, n *fedNode, method, suffix, body string, status int, want string) {
	t.Helper()
	before, _ := n.keyring(t, http.MethodGet, "")
	r := n.do(t, method, "/api/federation/keyring"+suffix, n.admin, body)
	if msg := r.errorText(t); r.code != status || !strings.Contains(msg, want) {
		t.Fatalf("%s %s: %d %q, want %d containing %q", method, body, r.code, msg, status, want)
	}
	after, _ := n.keyring(t, http.MethodGet, "")
	if b1, _ := json.Marshal(before.Keys); string(b1) != mustJSON(t, after.Keys) {
		t.Fatalf("a refused %s changed the keys: %s -> %s", method, b1, mustJSON(t, after.Keys))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKeyringBadInput(t *testing.T) {
	a := startFedNode(t, "a")
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"empty body", http.MethodPost, "", "", "request body is empty"},
		{"no key", http.MethodPost, "", `{}`, "key is required"},
		{"unknown field", http.MethodPost, "", `{"key":"x","primary":true}`, "primary"},
		{"not base64", http.MethodPut, "", `{"key":"%%%"}`, "base64"},
		{"short key", http.MethodPost, "", keyBody([]byte("0123456789")), "10 bytes"},
		{"array", http.MethodDelete, "", `["k"]`, "JSON object"},
		{"bad query key", http.MethodDelete, "?key=abc", "", "base64"},
		{"node route bad op", http.MethodPost, "/node", `{"op":"rotate"}`, "rotate"},
		{"node route no key", http.MethodPost, "/node", `{"op":"install"}`, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refuse(t, a, tc.method, tc.path, tc.body, http.StatusBadRequest, tc.want)
		})
	}
}

// TestNodeTokenScopes: the tokens a node sends peers are mcp-scoped, but
// the keyring fan-out's, which need management; this node's auth reads
// them so. (federation's TestNodeTokenScopes covers its plain POSTs.)
func TestNodeTokenScopes(t *testing.T) {
	a := startFedNode(t, "a")
	for _, tc := range []struct {
		client *http.Client
		scope  string
	}{{a.gw.fed.HTTPClient(), ScopeMCP}, {a.gw.fed.AdminClient(), ScopeAdmin}} {
		var got *Claims
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = ParseToken([]byte(testSecret), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}))
		resp, err := tc.client.Get(srv.URL)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got == nil || got.Scope != tc.scope || got.Subject != "node:a" {
			t.Errorf("token sent: %+v, want subject node:a and scope %s", got, tc.scope)
		}
	}
}

// TestNodeTokenAudience: a node token is good only on the node it names
// (or, naming no node yet, on /api/federation/info); people's tokens name
// no node and are good everywhere.
func TestNodeTokenAudience(t *testing.T) {
	a := startFedNode(t, "a")
	tok := func(scope, aud string) string { return nodeToken(t, "b", aud, scope) }
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"for this node", http.MethodPost, "/mcp", tok(ScopeMCP, "a"), ping, http.StatusOK},
		{"for another node", http.MethodPost, "/mcp", tok(ScopeMCP, "c"), ping, http.StatusUnauthorized},
		{"info token on info", http.MethodGet, "/api/federation/info", tok(ScopeMCP, audInfo), "", http.StatusOK},
		{"info token on mcp", http.MethodPost, "/mcp", tok(ScopeMCP, audInfo), ping, http.StatusUnauthorized},
		{"admin for this node", http.MethodGet, "/api/federation/keyring", tok(ScopeAdmin, "a"), "", http.StatusOK},
		{"admin for another node", http.MethodGet, "/api/federation/keyring", tok(ScopeAdmin, "c"), "", http.StatusUnauthorized},
		{"person's token", http.MethodGet, "/api/federation/keyring", a.admin, "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(t, tc.method, tc.path, tc.token, tc.body)
			if r.code != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.code, r.body, tc.status)
			}
			if tc.status == http.StatusUnauthorized && !strings.Contains(r.errorText(t), "not for this node") {
				t.Fatalf("refusal does not say why: %s", r.body)
			}
		})
	}
}
