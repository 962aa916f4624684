package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// probeSource serves two tools: probe answers with the principal it is
// called for ("issuer|subject|groups"); hold waits until its call is
// cancelled (held when it starts, ended when its context ends).
type probeSource struct {
	held, ended chan struct{}
	heldOnce    sync.Once
	endedOnce   sync.Once
}

func newProbeSource() *probeSource {
	return &probeSource{held: make(chan struct{}), ended: make(chan struct{})}
}

func (s *probeSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: rawTools(2, func(i int) string { return []string{"probe", "hold"}[i] }),
		ResourceTemplates: []json.RawMessage{json.RawMessage(`{"uriTemplate":"probe://{x}","name":"probe"}`)}}
}

func (s *probeSource) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	if req.Method == "resources/read" { // every probe:// resource is missing
		uri := mcp.StringField(req.Params, "uri")
		return nil, &mcp.Error{Code: mcp.CodeResourceNotFound, Message: "resource not found: " + uri}
	}
	if mcp.StringField(req.Params, "name") == "probe" {
		p := mcp.PrincipalFrom(ctx)
		return mcp.ToolText(p.Issuer + "|" + p.Subject + "|" + strings.Join(p.GroupList(), ";")), nil
	}
	s.heldOnce.Do(func() { close(s.held) })
	<-ctx.Done()
	s.endedOnce.Do(func() { close(s.ended) })
	return nil, ctx.Err()
}

// hopPair starts B (demo tools and probeSource) and A, with B A's full
// peer "b".
func hopPair(t *testing.T) (a, b *fedNode, probe *probeSource) {
	t.Helper()
	probe = newProbeSource()
	b = startFedNode(t, "gw-b", probe)
	a = startFedNode(t, "gw-a")
	addFedPeer(t, a, b, "b", "full")
	return a, b, probe
}

// userToken is a client token naming subject, issuer and groups.
func userToken(t testing.TB, subject, issuer string, groups []string) string {
	t.Helper()
	now := time.Now()
	claims := Claims{Scope: ScopeMCP, Groups: groups, RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: subject,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestHopServesCallerPrincipal: the node a call is forwarded to serves it
// as the caller's principal (issuer, subject, groups), not as the
// forwarding node.
func TestHopServesCallerPrincipal(t *testing.T) {
	a, _, _ := hopPair(t)
	tests := []struct {
		name, token, want string
	}{
		{"an issuer's user with groups", userToken(t, "alice", "https://idp.test", []string{"dev", "ops team"}), "https://idp.test|alice|dev;ops team"},
		{"a token of mcpmesh token", tokenFor(t, "bob", ScopeMCP, ""), "|bob|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__probe","arguments":{}}}`
			r := a.do(t, http.MethodPost, "/mcp/http", tt.token, body)
			var rep struct {
				Result fedResult `json:"result"`
			}
			if r.code != http.StatusOK || json.Unmarshal(r.body, &rep) != nil || rep.Result.IsError {
				t.Fatalf("b__probe on gw-a: %d %s", r.code, r.body)
			}
			if got := rep.Result.text(); got != tt.want {
				t.Errorf("gw-b served the call as %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCallerClaimOnlyInNodeTokens: a client token that names a caller
// (mcpmesh_caller) is refused, and so is a node token naming nobody.
func TestCallerClaimOnlyInNodeTokens(t *testing.T) {
	n := startFedNode(t, "gw-a")
	mintWith := func(sub string, aud []string, caller string) string {
		now := time.Now()
		claims := jwt.MapClaims{"sub": sub, "scope": ScopeMCP, "exp": now.Add(time.Hour).Unix(), "mcpmesh_caller": json.RawMessage(caller)}
		if aud != nil {
			claims["aud"] = aud
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct{ name, token, want string }{
		{"client token", mintWith("mallory", nil, `{"sub":"alice"}`), "only a node token may"},
		{"node token naming nobody", mintWith("node:gw-b", []string{"gw-a"}, `{"iss":"x"}`), "without a subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.do(t, http.MethodPost, "/mcp/http", tt.token, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
			if r.code != http.StatusUnauthorized || !strings.Contains(r.errorText(t), tt.want) {
				t.Errorf("status %d %s; want 401 saying %q", r.code, r.body, tt.want)
			}
		})
	}
}

// hopSeen records the tools/call requests a node was sent by another node.
type hopSeen struct {
	mu   sync.Mutex
	seen []string
}

func (h *hopSeen) tap(r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Mcpmesh-Forwarded") == "" {
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte(`"tools/call"`)) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, fmt.Sprintf("method=%s version=%s session=%q", r.Header.Get("Mcp-Method"),
		r.Header.Get("Mcp-Protocol-Version"), r.Header.Get("Mcp-Session-Id")))
}

func (h *hopSeen) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// TestHopStreamsProgressAndCancels: a legacy session caller's forwarded
// call with a progress token goes to the peer as one 2026-07-28 POST (no
// MCP session of the peer carries it), its progress comes back, and
// cancelling it cancels the tool on the peer.
func TestHopStreamsProgressAndCancels(t *testing.T) {
	a, b, probe := hopPair(t)
	var seen hopSeen
	b.mu.Lock()
	b.tap = seen.tap
	b.mu.Unlock()
	progress := make(chan *sdk.ProgressNotificationParams, 64)
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
			select {
			case progress <- r.Params:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: a.url + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{a.admin, http.DefaultTransport}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	t.Run("progress", func(t *testing.T) {
		params := &sdk.CallToolParams{Name: "b__sleep", Arguments: map[string]any{"ms": 300}}
		params.SetProgressToken("tok-hop")
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			t.Fatalf("b__sleep through gw-a: %+v, %v", res, err)
		}
		select {
		case p := <-progress:
			if p.ProgressToken != "tok-hop" {
				t.Errorf("progress %+v; want token tok-hop", p)
			}
		default:
			t.Error("no progress notification came back through the hop")
		}
		want := fmt.Sprintf("method=tools/call version=%s session=%q", mcp.StatelessVersion, "")
		if got := seen.list(); len(got) != 1 || got[0] != want {
			t.Errorf("gw-b was sent %q; want one request: %s", got, want)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		callCtx, stop := context.WithCancel(ctx)
		params := &sdk.CallToolParams{Name: "b__hold", Arguments: map[string]any{}}
		params.SetProgressToken("tok-hold")
		done := make(chan error, 1)
		go func() { _, err := cs.CallTool(callCtx, params); done <- err }()
		select {
		case <-probe.held:
		case <-ctx.Done():
			t.Fatal("b__hold never started on gw-b")
		}
		stop()
		select {
		case <-probe.ended:
		case <-ctx.Done():
			t.Fatal("cancelling the call on gw-a did not cancel b__hold on gw-b")
		}
		<-done
	})
}

// TestHopKeepsConnections: forwarded calls one after another reuse one
// kept-alive connection to the peer, answered as JSON or streamed.
func TestHopKeepsConnections(t *testing.T) {
	a, b, _ := hopPair(t)
	var mu sync.Mutex
	conns := map[string]bool{}
	b.mu.Lock()
	b.tap = func(r *http.Request) {
		if r.Header.Get("Mcp-Method") == "tools/call" {
			mu.Lock()
			conns[r.RemoteAddr] = true
			mu.Unlock()
		}
	}
	b.mu.Unlock()
	for i := range 10 {
		params := map[string]any{"name": "b__whoami", "arguments": map[string]any{}}
		if i%2 == 1 { // its progress makes the peer stream its answer
			params = map[string]any{"name": "b__sleep", "arguments": map[string]any{"ms": 30}, "_meta": map[string]any{"progressToken": i}}
		}
		if res, rpcErr := a.rpc(t, "tools/call", params); rpcErr != nil || decode[fedResult](t, res).IsError {
			t.Fatalf("%v through gw-a: %s %v", params, res, rpcErr)
		}
	}
	if len(conns) != 1 {
		t.Errorf("10 forwarded calls came on %d connections, want 1", len(conns))
	}
}

// TestHopMissingResource: a resource the peer does not have is -32002 for a
// legacy caller through the hop, as it is on the peer itself.
func TestHopMissingResource(t *testing.T) {
	a, b, _ := hopPair(t)
	for _, n := range []*fedNode{b, a} {
		_, rpcErr := n.rpc(t, "resources/read", map[string]any{"uri": "probe://nothing"})
		if rpcErr == nil || rpcErr.Code != mcp.CodeResourceNotFound {
			t.Errorf("resources/read of a missing resource on %s: %+v; want code %d", n.name, rpcErr, mcp.CodeResourceNotFound)
		}
	}
}
