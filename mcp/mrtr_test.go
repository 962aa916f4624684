package mcp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// askBackend serves one tool, "ask", in two rounds, as a peer node or a
// 2026-07-28 upstream would: without inputResponses it answers
// input_required (an elicitation, inner state "inner-1"); with them and
// that state, the tool's final result naming the answer.
type askBackend struct {
	mcp.Backend
	mu     sync.Mutex
	states []string // the requestState of each call ("-" for none)
	calls  atomic.Int32
}

const askInputRequired = `{"resultType":"input_required","inputRequests":{"q":{"method":"elicitation/create",` +
	`"params":{"message":"Your name?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"}}}}}},` +
	`"requestState":"inner-1"}`

func (b *askBackend) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	b.calls.Add(1)
	var p struct {
		RequestState   *string `json:"requestState"`
		InputResponses map[string]struct {
			Action  string            `json:"action"`
			Content map[string]string `json:"content"`
		} `json:"inputResponses"`
	}
	_ = json.Unmarshal(req.Params, &p)
	b.mu.Lock()
	if p.RequestState == nil {
		b.states = append(b.states, "-")
	} else {
		b.states = append(b.states, *p.RequestState)
	}
	b.mu.Unlock()
	if p.InputResponses == nil {
		return json.RawMessage(askInputRequired), nil
	}
	if p.RequestState == nil || *p.RequestState != "inner-1" {
		return nil, mcp.Errorf(mcp.CodeInvalidParams, "the retry came without the inner state")
	}
	return mcp.ToolText("hello " + p.InputResponses["q"].Content["name"]), nil
}

func (b *askBackend) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.states...)
}

func newAskServer(t *testing.T) (*httptest.Server, *askBackend) {
	t.Helper()
	b := &askBackend{Backend: mcp.NewCatalog("n1", nil)}
	srv := mcp.NewServer(b, mcp.ServerOptions{StateKey: mcp.StateKey([]byte("ring secret"))})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs, b
}

// TestInputRequiredToStatelessCaller: a 2026-07-28 caller gets the
// Backend's input_required with its requestState sealed (the inner state
// not in it as such); its retry with the sealed state reaches the Backend
// with the inner one; an altered state is refused with -32602 and nothing
// is dispatched.
func TestInputRequiredToStatelessCaller(t *testing.T) {
	hs, b := newAskServer(t)
	first := answer(t, req2026{method: "tools/call", params: map[string]any{"name": "ask"}}.send(t, hs.URL))
	var ir struct {
		ResultType    string                     `json:"resultType"`
		InputRequests map[string]json.RawMessage `json:"inputRequests"`
		RequestState  string                     `json:"requestState"`
	}
	if first.Error != nil || json.Unmarshal(first.Result, &ir) != nil || ir.ResultType != "input_required" || ir.InputRequests["q"] == nil {
		t.Fatalf("first call: %s %+v, want input_required", first.Result, first.Error)
	}
	if !strings.HasPrefix(ir.RequestState, "mcpmesh1.") || strings.Contains(ir.RequestState, "inner-1") {
		t.Fatalf("requestState %q: not sealed", ir.RequestState)
	}
	retry := func(state string) mcp.Message {
		return answer(t, req2026{method: "tools/call", params: map[string]any{"name": "ask", "requestState": state,
			"inputResponses": map[string]any{"q": map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}}}}.send(t, hs.URL))
	}
	for _, bad := range []string{ir.RequestState[:len(ir.RequestState)-3] + "AAA", "inner-1"} {
		calls := b.calls.Load()
		m := retry(bad)
		if m.Error == nil || m.Error.Code != mcp.CodeInvalidParams || !strings.Contains(m.Error.Message, "invalid requestState") {
			t.Errorf("retry with requestState %q: %s %+v, want -32602 invalid requestState", bad, m.Result, m.Error)
		}
		if b.calls.Load() != calls {
			t.Errorf("retry with requestState %q was dispatched", bad)
		}
	}
	m := retry(ir.RequestState)
	if m.Error != nil || !strings.Contains(string(m.Result), "hello Ada") || !strings.Contains(string(m.Result), `"resultType":"complete"`) {
		t.Fatalf("retry: %s %+v, want the tool's result", m.Result, m.Error)
	}
	if got := strings.Join(b.seen(), ","); got != "-,inner-1" {
		t.Errorf("the Backend saw requestState %s, want -,inner-1", got)
	}
}

// TestInputRequiredToGoSDKClient: the go-sdk client, speaking 2026-07-28,
// answers the input_required itself and gets the tool's result.
func TestInputRequiredToGoSDKClient(t *testing.T) {
	hs, _ := newAskServer(t)
	checkElicitingClient(t, hs.URL, "")
}

// TestInputRequiredToLegacySession: a legacy session caller (one that
// does not take input_required itself, as clients before 2026-07-28) is
// asked by a server-to-client elicitation/create on its session, and gets
// the tool's final result; the Backend got the inner state back.
func TestInputRequiredToLegacySession(t *testing.T) {
	hs, b := newAskServer(t)
	checkElicitingClient(t, hs.URL, "2025-11-25")
	if got := strings.Join(b.seen(), ","); got != "-,inner-1" {
		t.Errorf("the Backend saw requestState %s, want -,inner-1", got)
	}
}

func checkElicitingClient(t *testing.T, url, version string) {
	t.Helper()
	asked := make(chan string, 1)
	cs := connectVersion(t, url, &sdk.ClientOptions{
		MultiRoundTrip: &sdk.MultiRoundTripOptions{Disabled: version != ""},
		ElicitationHandler: func(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			asked <- req.Params.Message
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	}, version)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "ask", Arguments: map[string]any{}})
	if err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("call ask: %+v, %v", res, err)
	}
	if text := res.Content[0].(*sdk.TextContent).Text; text != "hello Ada" {
		t.Errorf("result %q, want hello Ada", text)
	}
	if q := <-asked; q != "Your name?" {
		t.Errorf("the client was asked %q", q)
	}
}

// TestInputRequiredLegacyWithoutCapability: a legacy session that did not
// declare elicitation is not asked; the call fails saying what it lacks.
func TestInputRequiredLegacyWithoutCapability(t *testing.T) {
	hs, b := newAskServer(t)
	cs := connectVersion(t, hs.URL, &sdk.ClientOptions{MultiRoundTrip: &sdk.MultiRoundTripOptions{Disabled: true}}, "2025-11-25")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "ask", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "elicitation") {
		t.Errorf("call ask without elicitation: %v, want an error naming the capability", err)
	}
	if b.calls.Load() != 1 {
		t.Errorf("the Backend was called %d times, want once", b.calls.Load())
	}
}

// TestInputRequiredToPlainPost: a sessionless legacy POST gets an isError
// result saying what the tool asked for, marked input_required.
func TestInputRequiredToPlainPost(t *testing.T) {
	hs, _ := newAskServer(t)
	resp := post(t, hs.URL, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{}}}`,
		map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
	m := answer(t, resp)
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		Meta map[string]any `json:"_meta"`
	}
	if m.Error != nil || json.Unmarshal(m.Result, &r) != nil || !r.IsError || len(r.Content) != 1 {
		t.Fatalf("plain POST: %s %+v, want an isError result", m.Result, m.Error)
	}
	if !strings.Contains(r.Content[0].Text, `elicitation/create: the user was to be asked "Your name?"`) || r.Meta["mcpmesh/error"] != "input_required" {
		t.Errorf("plain POST result %s: does not say what the tool asked for", m.Result)
	}
}
