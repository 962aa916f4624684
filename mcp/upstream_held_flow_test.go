package mcp_test

import (
	"context"

	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestUpstreamInputRequiredPassesThrough: an upstream that answers
// input_required itself (the everything-server on a 2026-07-28 session)
// reaches a 2026-07-28 caller unchanged (its keys, its own requestState),
// and the retry's inputResponses and requestState reach it unchanged.
func TestUpstreamInputRequiredPassesThrough(t *testing.T) {
	url := heldNodeFor(t, upEverythingConfig(t), mcp.UpstreamOptions{ProtocolVersion: mcp.StatelessVersion})
	tests := []struct {
		tool   string
		states []string // the upstream's requestState per round
		keys   []string // its input request keys per round
		want   string
	}{
		{"test_input_required_result_request_state", []string{"request_state"}, []string{"confirm"}, "state-ok"},
		{"test_input_required_result_multi_round", []string{"round=1", "round=2;name=Alice"}, []string{"step1", "step2"},
			"Multi-round complete: Alice likes blue"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			params := map[string]any{"name": tt.tool, "arguments": map[string]any{}}
			r, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
			for round, state := range tt.states {
				if _, ok := r.InputRequests[tt.keys[round]]; e != nil || r.ResultType != "input_required" || r.RequestState != state || !ok {
					t.Fatalf("round %d: %+v, %v; want input_required asking %q with state %q", round, r, e, tt.keys[round], state)
				}
				params["inputResponses"], params["requestState"] = heldAnswers(t, r), r.RequestState
				r, e = callHeld(t, url, "alice", "tools/call", params, allCaps)
			}
			if e != nil || r.ResultType != "complete" || len(r.Content) == 0 || !strings.Contains(r.Content[0].Text, tt.want) {
				t.Fatalf("final answer %+v, %v; want complete with %q", r, e, tt.want)
			}
		})
	}
}

// askServer is a go-sdk server over Streamable HTTP whose tool "ask"
// reports progress, asks the client for a name (a session request), then
// reports progress again and logs before it answers.
func askServer(t *testing.T) string {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "ask", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "ask"}, func(ctx context.Context, req *sdk.CallToolRequest, _ any) (*sdk.CallToolResult, any, error) {
		tok := req.Params.GetProgressToken()
		_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Message: "before"})
		res, err := req.Session.Elicit(ctx, &sdk.ElicitParams{Message: "Your name?",
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}})
		if err != nil {
			return nil, nil, err
		}
		_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok, Progress: 2, Message: "after"})
		_ = req.Session.Log(ctx, &sdk.LoggingMessageParams{Level: "info", Data: "answered"})
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "hello " + res.Content["name"].(string)}}}, nil, nil
	})
	hs := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestHeldCallNotifiesTheCurrentRequest: a held call's progress and log
// messages go to the caller's request current at the time: the first
// try's stream (with its progress token), then the retry's (with its own
// token, and log messages at the retry's level).
func TestHeldCallNotifiesTheCurrentRequest(t *testing.T) {
	url := heldNodeFor(t, mcp.ServerConfig{Name: "ask", URL: askServer(t)}, mcp.UpstreamOptions{})
	params := map[string]any{"name": "ask", "arguments": map[string]any{}}
	first := sendHeld(t, url, "alice", "tools/call", params, allCaps, map[string]any{"progressToken": "p1"})
	r, e := heldLast(t, first)
	if e != nil || r.ResultType != "input_required" || len(r.InputRequests) != 1 {
		t.Fatalf("first try %+v, %v; want input_required asking one thing", r, e)
	}
	if got := heldNotes(first, "notifications/progress"); len(got) != 1 || !strings.Contains(got[0], `"progressToken":"p1"`) ||
		!strings.Contains(got[0], `"before"`) {
		t.Errorf("first try's progress %v, want one (before) with token p1", got)
	}
	params["inputResponses"], params["requestState"] = heldAnswers(t, r), r.RequestState
	retry := sendHeld(t, url, "alice", "tools/call", params, allCaps, map[string]any{"progressToken": "p2", mcp.MetaLogLevel: "info"})
	r, e = heldLast(t, retry)
	if e != nil || r.ResultType != "complete" || len(r.Content) == 0 || r.Content[0].Text != "hello Alice" {
		t.Fatalf("retry %+v, %v; want complete: hello Alice", r, e)
	}
	if got := heldNotes(retry, "notifications/progress"); len(got) != 1 || !strings.Contains(got[0], `"progressToken":"p2"`) ||
		!strings.Contains(got[0], `"after"`) {
		t.Errorf("retry's progress %v, want one (after) with token p2", got)
	}
	if got := heldNotes(retry, "notifications/message"); len(got) != 1 || !strings.Contains(got[0], "answered") {
		t.Errorf("retry's log messages %v, want the upstream's one", got)
	}
}

// heldNotes are the params of the notifications with method in msgs.
func heldNotes(msgs []mcp.Message, method string) []string {
	var out []string
	for _, m := range msgs {
		if m.Method == method {
			out = append(out, string(m.Params))
		}
	}
	return out
}
