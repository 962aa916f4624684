package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The stateless revision 2026-07-28 on a node: the official go-sdk client
// (v1.8.0) negotiates it, and a 2026 request for a federated tool is
// served through today's forwarding.

// post2026 sends a 2026-07-28 request to path on n, with its _meta and the
// standard headers, and decodes the JSON answer.
func post2026(t *testing.T, n *node, path, method string, params map[string]any) (httpReply, rpcReply) {
	t.Helper()
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 5, "method": method, "params": params})
	hdr := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Accept": "application/json, text/event-stream"}
	if name, ok := params["name"].(string); ok {
		hdr["Mcp-Name"] = name
	}
	r := n.do(t, http.MethodPost, path, body, hdr)
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatalf("%s %s: status %d, body %s: %v", method, path, r.status, r.body, err)
	}
	return r, rep
}

func TestStatelessForwardedCall(t *testing.T) {
	a, _ := startPair(t)
	for _, path := range []string{"/mcp", "/mcp/http"} {
		t.Run(path, func(t *testing.T) {
			r, rep := post2026(t, a, path, "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}})
			var res struct {
				callResult
				ResultType string `json:"resultType"`
			}
			rep.decode(t, &res)
			if r.status != 200 || res.IsError || len(res.Content) == 0 || !strings.Contains(res.Content[0].Text, "rb") {
				t.Fatalf("b__whoami through A: status %d, %+v; want B's name", r.status, res)
			}
			info, _ := res.Meta["io.modelcontextprotocol/serverInfo"].(map[string]any)
			if res.ResultType != "complete" || info["name"] != "ra" {
				t.Errorf("resultType %q, serverInfo %v; want complete and A's name ra", res.ResultType, info)
			}
			if sid := r.header.Get("Mcp-Session-Id"); sid != "" {
				t.Errorf("a 2026-07-28 request got session %q", sid)
			}
		})
	}
}

func TestGoSDKClient2026(t *testing.T) {
	a, b := startPair(t)
	progress := make(chan *mcp.ProgressNotificationParams, 64)
	changed := make(chan struct{}, 64)
	cs := connectGoSDKVersion(t, a.mcpURL(), a.token, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			select {
			case progress <- r.Params:
			default:
			}
		},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	}, "")
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("negotiated %q, want 2026-07-28", v)
	}
	if info := cs.InitializeResult().ServerInfo; info == nil || info.Name != "ra" {
		t.Errorf("serverInfo %+v, want the node's name ra", info)
	}
	var names []string
	for tool, err := range cs.Tools(testCtx(t), nil) {
		if err != nil {
			t.Fatalf("list tools: %v", err)
		}
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "whoami") || !slices.Contains(names, "b__whoami") {
		t.Fatalf("tools %v, want whoami and b__whoami", names)
	}
	checkSDKCall(t, cs, "b__whoami", nil, "rb")
	params := &mcp.CallToolParams{Name: "b__sleep", Arguments: map[string]any{"ms": 600}}
	params.SetProgressToken("tok-2026")
	checkSDKCallParams(t, cs, params, "slept 600 ms")
	select {
	case p := <-progress:
		if p.ProgressToken != "tok-2026" {
			t.Errorf("progress %+v, want token tok-2026", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("no progress came back through the forward")
	}
	entry := map[string]any{"name": "ev", "command": buildBinaries(t).everything, "prefix": "ev"}
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers on B: status %d, body %s; want 201", r.status, r.body)
	}
	select {
	case <-changed:
	case <-time.After(15 * time.Second):
		t.Fatal("no notifications/tools/list_changed on the subscriptions/listen stream")
	}
}

func checkSDKCall(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, want string) {
	t.Helper()
	checkSDKCallParams(t, cs, &mcp.CallToolParams{Name: name, Arguments: args}, want)
}

func checkSDKCallParams(t *testing.T, cs *mcp.ClientSession, params *mcp.CallToolParams, want string) {
	t.Helper()
	res, err := cs.CallTool(testCtx(t), params)
	if err != nil || res.IsError || len(res.Content) == 0 {
		t.Fatalf("%s: %+v, %v; want a result", params.Name, res, err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, want) {
		t.Errorf("%s answered %q, want %q in it", params.Name, text, want)
	}
}
