package mcp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestInputRequiredCapabilities: a legacy caller is asked only what it
// declared in initialize; anything else fails the call naming what it
// lacks, before the caller is asked anything.
func TestInputRequiredCapabilities(t *testing.T) {
	elicit := inputRequest{Method: "elicitation/create"}
	sample := inputRequest{Method: "sampling/createMessage"}
	roots := inputRequest{Method: "roots/list"}
	tests := []struct {
		name, caps string
		reqs       map[string]inputRequest
		code       int
		why        string
	}{
		{"declared", `{"elicitation":{},"sampling":{},"roots":{}}`, map[string]inputRequest{"a": elicit, "b": sample, "c": roots}, 0, ""},
		{"no sampling", `{"elicitation":{}}`, map[string]inputRequest{"a": elicit, "b": sample}, CodeMissingRequiredCapability, "sampling (for sampling/createMessage)"},
		{"none declared", ``, map[string]inputRequest{"r": roots}, CodeMissingRequiredCapability, "roots (for roots/list)"},
		{"unknown method", `{"elicitation":{}}`, map[string]inputRequest{"x": {Method: "tools/call"}}, CodeInternalError, `unknown method "tools/call"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCapabilities(json.RawMessage(tt.caps), tt.reqs)
			e, _ := err.(*Error)
			switch {
			case tt.code == 0 && err != nil:
				t.Errorf("refused: %v", err)
			case tt.code != 0 && (e == nil || e.Code != tt.code || !strings.Contains(e.Message, tt.why)):
				t.Errorf("got %v, want %d saying %q", err, tt.code, tt.why)
			}
		})
	}
}

// TestInputRequiredFailureSaysWhat: a plain POST is told what the tool
// asked for, as an isError result for tools/call, a JSON-RPC error for
// the other methods, both marked input_required.
func TestInputRequiredFailureSaysWhat(t *testing.T) {
	ir := &inputRequired{Requests: map[string]inputRequest{
		"b": {Method: "sampling/createMessage", Params: json.RawMessage(`{"messages":[]}`)},
		"a": {Method: "elicitation/create", Params: json.RawMessage(`{"message":"Proceed?"}`)},
	}}
	res, err := inputRequiredFailure("tools/call", ir)
	want := `elicitation/create: the user was to be asked \"Proceed?\"; sampling/createMessage: an LLM completion`
	if err != nil || !strings.Contains(string(res), want) || !strings.Contains(string(res), `"isError":true`) ||
		!strings.Contains(string(res), `"mcpmesh/error":"input_required"`) {
		t.Errorf("tools/call: %s, %v; want an isError saying %s", res, err, want)
	}
	_, err = inputRequiredFailure("prompts/get", ir)
	if e, ok := err.(*Error); !ok || !strings.Contains(e.Message, "an LLM completion") || e.Data.(map[string]any)["mcpmesh/error"] != "input_required" {
		t.Errorf("prompts/get: %v; want a JSON-RPC error saying what was asked", err)
	}
}

// endlessBackend asks for input every time.
type endlessBackend struct {
	Backend
	calls int
}

func (b *endlessBackend) Call(context.Context, *Request) (json.RawMessage, error) {
	b.calls++
	return json.RawMessage(`{"resultType":"input_required","inputRequests":{"r":{"method":"roots/list"}}}`), nil
}

// answeringPeer is a session caller that declares roots and answers each
// request at once.
type answeringPeer struct{ noClient }

func (answeringPeer) SessionID() string             { return "s" }
func (answeringPeer) Capabilities() json.RawMessage { return json.RawMessage(`{"roots":{}}`) }
func (answeringPeer) Request(context.Context, string, any) (json.RawMessage, error) {
	return json.RawMessage(`{"roots":[]}`), nil
}

// TestInputRequiredRoundsBounded: a tool that keeps asking is given up on
// after maxInputRounds retries, with an error saying so.
func TestInputRequiredRoundsBounded(t *testing.T) {
	b := &endlessBackend{Backend: NewCatalog("n1", nil)}
	s := NewServer(b, ServerOptions{})
	t.Cleanup(s.Close)
	m := &Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: "tools/call", Params: json.RawMessage(`{"name":"x"}`)}
	resp := s.handleRequest(context.Background(), nil, answeringPeer{}, m)
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "after 10 rounds") {
		t.Errorf("answer %+v, want an error after 10 rounds", resp)
	}
	if b.calls != maxInputRounds+1 {
		t.Errorf("the Backend was called %d times, want %d", b.calls, maxInputRounds+1)
	}
}
