package main

import (
	"slices"
	"testing"

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
