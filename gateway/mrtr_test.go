package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// askSource serves "ask" in two rounds, as an upstream that answers
// input_required itself: without inputResponses, an elicitation (inner
// state "inner-1"); with them and that state, "hello <name>". It records
// the client capabilities and the requestState of every call.
type askSource struct {
	mu     sync.Mutex
	caps   []string
	states []string
}

func (s *askSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: rawTools(1, func(int) string { return "ask" })}
}

func (s *askSource) Call(_ context.Context, req *mcp.Request) (json.RawMessage, error) {
	var p struct {
		RequestState   string `json:"requestState"`
		InputResponses map[string]struct {
			Content map[string]string `json:"content"`
		} `json:"inputResponses"`
	}
	_ = json.Unmarshal(req.Params, &p)
	s.mu.Lock()
	s.caps = append(s.caps, string(req.Client.Capabilities()))
	s.states = append(s.states, p.RequestState)
	s.mu.Unlock()
	if p.InputResponses == nil {
		return json.RawMessage(`{"resultType":"input_required","requestState":"inner-1","inputRequests":{"q":` +
			`{"method":"elicitation/create","params":{"message":"Your name?","requestedSchema":{"type":"object"}}}}}`), nil
	}
	if p.RequestState != "inner-1" {
		return mcp.ToolText("retry without the inner state: " + p.RequestState), nil
	}
	return mcp.ToolText("hello " + p.InputResponses["q"].Content["name"]), nil
}

func (s *askSource) seen() (caps, states []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.caps...), append([]string(nil), s.states...)
}

// post2026 sends tools/call of tool to n as a 2026-07-28 request with
// token, the client capabilities caps and the extra params.
func (n *fedNode) post2026(t *testing.T, token, tool string, caps map[string]any, extra map[string]any) (json.RawMessage, *mcp.Error) {
	t.Helper()
	params := map[string]any{"name": tool, "arguments": map[string]any{},
		"_meta": map[string]any{mcp.MetaProtocolVersion: mcp.StatelessVersion, mcp.MetaClientCapabilities: caps}}
	for k, v := range extra {
		params[k] = v
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
	req, err := http.NewRequest(http.MethodPost, n.url+"/mcp", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json",
		"Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": mcp.StatelessVersion,
		"Mcp-Method": "tools/call", "Mcp-Name": tool} {
		req.Header.Set(k, v)
	}
	return n.reply(t, "tools/call "+tool, send(t, req))
}

// TestMRTRAcrossTheHop: gw-b's "ask" answers input_required. Called on gw-a
// by a 2026-07-28 caller, the hop carries the caller's capabilities, the
// answer comes back with its requestState sealed; the retry, sent to gw-c,
// reaches gw-b with the inner state and the caller's answers, and an
// altered state is refused there without reaching gw-b. A legacy session
// caller on gw-a is asked on its session; a plain POST gets an isError.
func TestMRTRAcrossTheHop(t *testing.T) {
	src := &askSource{}
	b := startFedNode(t, "gw-b", src)
	a, c := startFedNode(t, "gw-a"), startFedNode(t, "gw-c")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	if _, err := c.node.Join([]string{a.node.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool { // until gw-c has the registry's peer b (unknown tool before)
		res, rpcErr := c.rpc(t, "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}})
		return rpcErr == nil && decode[fedResult](t, res).text() == "gw-b"
	}, "gw-c to link peer b")
	alice := userToken(t, "alice", "https://idp.test", nil)
	t.Run("2026 caller, retried on another node", func(t *testing.T) {
		res, rpcErr := a.post2026(t, alice, "b__ask", map[string]any{"elicitation": map[string]any{}}, nil)
		var ir struct {
			ResultType   string `json:"resultType"`
			RequestState string `json:"requestState"`
		}
		if rpcErr != nil || json.Unmarshal(res, &ir) != nil || ir.ResultType != "input_required" || !strings.HasPrefix(ir.RequestState, "mcpmesh1.") {
			t.Fatalf("b__ask on gw-a: %s %+v, want input_required with a sealed state", res, rpcErr)
		}
		if inner := sealedInner(t, ir.RequestState); inner != "inner-1" {
			t.Errorf("gw-a sealed the inner state %q, want gw-b's own inner-1 (gw-b passes a forwarded request's state through)", inner)
		}
		if caps, _ := src.seen(); len(caps) != 1 || !strings.Contains(caps[0], "elicitation") {
			t.Errorf("gw-b was called with client capabilities %q, want the caller's (elicitation)", caps)
		}
		answers := map[string]any{"q": map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}}
		_, rpcErr = c.post2026(t, alice, "b__ask", map[string]any{}, map[string]any{"inputResponses": answers,
			"requestState": ir.RequestState[:len(ir.RequestState)-4] + "AAAA"})
		if rpcErr == nil || rpcErr.Code != mcp.CodeInvalidParams || !strings.Contains(rpcErr.Message, "invalid requestState") {
			t.Errorf("an altered state on gw-c: %+v, want -32602 invalid requestState", rpcErr)
		}
		if _, states := src.seen(); len(states) != 1 {
			t.Errorf("the altered state reached gw-b: %q", states)
		}
		res, rpcErr = c.post2026(t, alice, "b__ask", map[string]any{}, map[string]any{"inputResponses": answers, "requestState": ir.RequestState})
		if rpcErr != nil || !strings.Contains(string(res), "hello Ada") {
			t.Errorf("the retry on gw-c: %s %+v, want hello Ada", res, rpcErr)
		}
		_, rpcErr = c.post2026(t, userToken(t, "mallory", "https://idp.test", nil), "b__ask", map[string]any{},
			map[string]any{"inputResponses": answers, "requestState": ir.RequestState})
		if rpcErr == nil || !strings.Contains(rpcErr.Message, "another caller") {
			t.Errorf("alice's state sent by mallory: %+v, want refused", rpcErr)
		}
	})
	t.Run("legacy session caller", func(t *testing.T) {
		cs := legacyElicitingSession(t, a)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "b__ask", Arguments: map[string]any{}})
		if err != nil || res.IsError || len(res.Content) != 1 || res.Content[0].(*sdk.TextContent).Text != "hello Ada" {
			t.Fatalf("b__ask in a legacy session on gw-a: %+v, %v; want hello Ada", res, err)
		}
	})
	t.Run("plain POST", func(t *testing.T) {
		res := a.call(t, "b__ask")
		if !res.IsError || res.Meta["mcpmesh/error"] != mcp.ErrKindInputRequired || !strings.Contains(res.text(), "Your name?") {
			t.Errorf("b__ask as a plain POST on gw-a: %+v, want an isError saying what it asked", res)
		}
	})
}

// sealedInner is the inner state in a sealed requestState's payload.
func sealedInner(t *testing.T, sealed string) string {
	t.Helper()
	parts := strings.Split(sealed, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var p struct {
		Inner string `json:"s"`
	}
	if len(parts) != 3 || err != nil || json.Unmarshal(raw, &p) != nil {
		t.Fatalf("sealed state %q does not decode", sealed)
	}
	return p.Inner
}

// legacyElicitingSession is a 2025-11-25 go-sdk session with n that
// answers elicitations with the name Ada and does not take input_required
// results itself (as clients before 2026-07-28).
func legacyElicitingSession(t *testing.T, n *fedNode) *sdk.ClientSession {
	t.Helper()
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, &sdk.ClientOptions{
		MultiRoundTrip: &sdk.MultiRoundTripOptions{Disabled: true},
		ElicitationHandler: func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: n.url + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{n.admin, http.DefaultTransport}}},
		&sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}
