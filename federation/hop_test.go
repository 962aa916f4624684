package federation

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// fakePeer is a caller as a Backend sees it; only what needsSession reads.
type fakePeer struct {
	mcp.Client
	sid, level, caps string
}

func (p fakePeer) SessionID() string             { return p.sid }
func (p fakePeer) LogLevel() string              { return p.level }
func (p fakePeer) Capabilities() json.RawMessage { return json.RawMessage(p.caps) }
func (p fakePeer) Notify(context.Context, string, any) error {
	return nil
}

func TestNeedsSession(t *testing.T) {
	plain := `{"name":"b__echo","arguments":{}}`
	progress := `{"name":"b__sleep","arguments":{"ms":5},"_meta":{"progressToken":"p1"}}`
	tests := []struct {
		name   string
		client mcp.Client
		params string
		want   bool
	}{
		{"sessionless", fakePeer{caps: `{}`}, progress, false},
		{"session, nothing asked", fakePeer{sid: "s", caps: `{"roots":{"listChanged":true}}`}, plain, false},
		{"progress token: the hop streams it", fakePeer{sid: "s", caps: `{}`}, progress, false},
		{"log level set: the hop streams logs", fakePeer{sid: "s", level: "debug", caps: `{}`}, plain, false},
		{"can sample: the peer asks by input_required", fakePeer{sid: "s", caps: `{"sampling":{}}`}, plain, false},
		{"can elicit: the peer asks by input_required", fakePeer{sid: "s", caps: `{"elicitation":{"form":{}}}`}, plain, false},
		{"no caps", fakePeer{sid: "s"}, plain, false},
	}
	t.Run("resources/subscribe", func(t *testing.T) {
		req := &mcp.Request{Method: "resources/subscribe", Params: json.RawMessage(`{"uri":"x://y"}`), Client: fakePeer{}}
		if !needsSession(req) {
			t.Error("a subscription goes through the hop; want the link's session")
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &mcp.Request{Method: "tools/call", Params: json.RawMessage(tt.params), Client: tt.client}
			if got := needsSession(req); got != tt.want {
				t.Errorf("needsSession = %v, want %v", got, tt.want)
			}
		})
	}
}
