package main

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// /mcp/peers/{peer}: the go-sdk client, in both protocol generations, sees
// one peer's tools under their own names through another node and calls
// them there.

func TestGoSDKPeerEndpoint(t *testing.T) {
	a, _ := startPair(t)
	for _, tc := range []struct{ name, offer, want string }{
		{"2026-07-28", "", "2026-07-28"},
		{"session " + legacyVersion, legacyVersion, legacyVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := connectGoSDKVersion(t, a.url+"/mcp/peers/b", a.token, nil, tc.offer)
			if v := cs.InitializeResult().ProtocolVersion; v != tc.want {
				t.Fatalf("negotiated %q, want %q", v, tc.want)
			}
			names := sdkToolNames(t, cs)
			if !slices.Contains(names, "whoami") || slices.Contains(names, "b__whoami") {
				t.Fatalf("tools %v, want B's own names (whoami, no b__ prefix)", names)
			}
			checkSDKCall(t, cs, "whoami", nil, "rb")
			checkSDKCall(t, cs, "echo", map[string]any{"text": "through a"}, "through a")
		})
	}
}

// sdkToolNames lists every tool of a go-sdk session.
func sdkToolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	var names []string
	for tool, err := range cs.Tools(testCtx(t), nil) {
		if err != nil {
			t.Fatalf("list tools: %v", err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// TestGoSDKPeerEndpointListChanged: sessions on /mcp/peers/b, of both
// generations, hear that B's tools changed when an upstream is added on B,
// and then list its tools under B's names.
func TestGoSDKPeerEndpointListChanged(t *testing.T) {
	a, b := startPair(t)
	changed := map[string]chan struct{}{}
	sessions := map[string]*mcp.ClientSession{}
	for _, offer := range []string{"", legacyVersion} {
		ch := make(chan struct{}, 64)
		changed[offer] = ch
		sessions[offer] = connectGoSDKVersion(t, a.url+"/mcp/peers/b", a.token, &mcp.ClientOptions{
			ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
				select {
				case ch <- struct{}{}:
				default:
				}
			},
		}, offer)
	}
	entry := map[string]any{"name": "ev", "command": buildBinaries(t).everything, "prefix": "ev"}
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers on B: status %d, body %s; want 201", r.status, r.body)
	}
	for offer, ch := range changed {
		select {
		case <-ch:
		case <-time.After(15 * time.Second):
			t.Fatalf("session offering %q on /mcp/peers/b got no tools list_changed", offer)
		}
		if names := sdkToolNames(t, sessions[offer]); !slices.Contains(names, "ev__test_simple_text") {
			t.Errorf("session offering %q: tools %v, want B's ev__test_simple_text", offer, names)
		}
	}
}
