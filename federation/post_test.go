package federation

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// fakePeer is a caller as a Backend sees it; only what needsWayBack reads.
type fakePeer struct {
	mcp.Peer
	sid, level, caps string
}

func (p fakePeer) SessionID() string             { return p.sid }
func (p fakePeer) LogLevel() string              { return p.level }
func (p fakePeer) Capabilities() json.RawMessage { return json.RawMessage(p.caps) }
func (p fakePeer) Notify(context.Context, string, any) error {
	return nil
}

func TestNeedsWayBack(t *testing.T) {
	plain := `{"name":"b__echo","arguments":{}}`
	progress := `{"name":"b__sleep","arguments":{"ms":5},"_meta":{"progressToken":"p1"}}`
	tests := []struct {
		name   string
		client mcp.Peer
		params string
		want   bool
	}{
		{"sessionless", fakePeer{caps: `{}`}, progress, false},
		{"session, nothing asked", fakePeer{sid: "s", caps: `{"roots":{"listChanged":true}}`}, plain, false},
		{"progress token", fakePeer{sid: "s", caps: `{}`}, progress, true},
		{"log level set", fakePeer{sid: "s", level: "debug", caps: `{}`}, plain, true},
		{"can sample", fakePeer{sid: "s", caps: `{"sampling":{}}`}, plain, true},
		{"can elicit", fakePeer{sid: "s", caps: `{"elicitation":{"form":{}}}`}, plain, true},
		{"no caps", fakePeer{sid: "s"}, plain, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &mcp.Request{Method: "tools/call", Params: json.RawMessage(tt.params), Client: tt.client}
			if got := needsWayBack(req); got != tt.want {
				t.Errorf("needsWayBack = %v, want %v", got, tt.want)
			}
		})
	}
}
