package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// askKeyServer is a go-sdk server over Streamable HTTP (stateless: it
// takes 2026-07-28 too) whose tool "greet" asks for the caller's name
// under its own key "user_name" (an input_required on a 2026-07-28
// request, an elicitation/create session request on a legacy one).
func askKeyServer(t *testing.T, stateless bool) string {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "greet", Version: "1"}, nil)
	schema := map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}
	sdk.AddTool(s, &sdk.Tool{Name: "greet"}, func(_ context.Context, req *sdk.CallToolRequest, _ any) (*sdk.CallToolResult, any, error) {
		if r, ok := req.Params.InputResponses["user_name"].(*sdk.ElicitResult); ok && r.Action == "accept" {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "hello " + r.Content["name"].(string)}}}, nil, nil
		}
		return &sdk.CallToolResult{InputRequests: sdk.InputRequestMap{
			"user_name": &sdk.ElicitParams{Message: "Your name?", RequestedSchema: schema}}}, nil, nil
	})
	hs := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s },
		&sdk.StreamableHTTPOptions{Stateless: stateless}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestUpstreamInputRequiredOverHTTP: a 2026-07-28 caller's call to an
// HTTP upstream goes on the node's 2025-11-25 session with the caller's
// _meta triple, which the go-sdk client also puts in the request's
// Mcp-Protocol-Version header. A stateless go-sdk server (it serves
// 2026-07-28) takes it as a 2026-07-28 request and answers input_required
// itself: the caller sees the tool's own key "user_name", and the retry
// completes. A stateful one refuses 2026-07-28 (-32022): the call goes
// again without the triple, the server asks in a session request, and the
// node holds it under a key of its own.
func TestUpstreamInputRequiredOverHTTP(t *testing.T) {
	tests := []struct {
		name      string
		stateless bool
		key       string // the input request's key the caller sees
	}{
		{"stateless server", true, "user_name"},
		{"stateful server", false, "elicitation-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mcp.ServerConfig{Name: "greet", URL: askKeyServer(t, tt.stateless)}
			url := heldNodeFor(t, cfg, mcp.UpstreamOptions{})
			params := map[string]any{"name": "greet", "arguments": map[string]any{}}
			r, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
			if _, ok := r.InputRequests[tt.key]; e != nil || r.ResultType != "input_required" || !ok {
				t.Fatalf("first try %+v, %v; want input_required asking %q", r, e, tt.key)
			}
			params["inputResponses"], params["requestState"] = heldAnswers(t, r), r.RequestState
			r, e = callHeld(t, url, "alice", "tools/call", params, allCaps)
			if e != nil || r.ResultType != "complete" || len(r.Content) == 0 || r.Content[0].Text != "hello Alice" {
				t.Fatalf("retry %+v, %v; want complete: hello Alice", r, e)
			}
		})
	}
}
