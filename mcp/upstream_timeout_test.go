package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// addHangingFeatures gives s a prompt and a resource that block, like its
// block tool, until their request is cancelled.
func addHangingFeatures(s *upHTTPServer) {
	hang := func(ctx context.Context) error {
		s.started <- struct{}{}
		<-ctx.Done()
		s.cancelled <- struct{}{}
		return ctx.Err()
	}
	s.srv.AddPrompt(&sdk.Prompt{Name: "hang"}, func(ctx context.Context, _ *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		return nil, hang(ctx)
	})
	s.srv.AddResource(&sdk.Resource{URI: "test://hang", Name: "hang"}, func(ctx context.Context, _ *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return nil, hang(ctx)
	})
}

func TestUpstreamCallTimeoutCancelsAHungCall(t *testing.T) {
	s := newUpHTTPServer(t, "")
	addHangingFeatures(s)
	u := upStart(t, s.config(), mcp.UpstreamOptions{CallTimeout: 300 * time.Millisecond})
	cases := []struct{ method, params string }{
		{"tools/call", `{"name":"block"}`},
		{"prompts/get", `{"name":"hang"}`},
		{"resources/read", `{"uri":"test://hang"}`},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second) // a guard far above the timeout
			defer cancel()
			raw, err := u.Call(ctx, &mcp.Request{Method: c.method, Params: json.RawMessage(c.params), Client: newUpFakePeer("s", `{}`, "")})
			checkUpstreamTimeout(t, c.method, raw, err)
			upRecv(t, s.cancelled, "the server to see the call cancelled")
		})
	}
	raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"echo_args","arguments":{"x":1}}`)
	if text, isErr := upToolText(t, raw); err != nil || isErr || text != `{"x":1}` {
		t.Errorf("a quick call after the timeouts = %s, %v; want it served", raw, err)
	}
}

// checkUpstreamTimeout checks the answer to a timed-out call: an isError
// result (tools/call) or an internal error, naming the upstream and the
// timeout, with _meta["mcpmesh/error"] upstream_timeout.
func checkUpstreamTimeout(t *testing.T, method string, raw json.RawMessage, err error) {
	t.Helper()
	var text string
	var meta map[string]any
	if method == "tools/call" {
		var r struct {
			IsError bool           `json:"isError"`
			Meta    map[string]any `json:"_meta"`
		}
		if err != nil || json.Unmarshal(raw, &r) != nil || !r.IsError {
			t.Fatalf("answer %s, %v; want an isError result", raw, err)
		}
		text, _ = upToolText(t, raw)
		meta = r.Meta
	} else {
		var e *mcp.Error
		if !errors.As(err, &e) || e.Code != mcp.CodeInternalError {
			t.Fatalf("answer %s, %v; want an internal error", raw, err)
		}
		text, meta = e.Message, e.Data.(map[string]any)
	}
	if !strings.Contains(text, `upstream "web"`) || !strings.Contains(text, "300ms") {
		t.Errorf("text %q does not name the upstream and the timeout", text)
	}
	if meta[mcp.MetaError] != mcp.ErrUpstreamTimeout || meta[mcp.MetaUpstream] != "web" {
		t.Errorf("_meta %v, want mcpmesh/error upstream_timeout and mcpmesh/upstream web", meta)
	}
}

func TestUpstreamCallTimeoutBoundsARelisting(t *testing.T) {
	s := newUpHTTPServer(t, "")
	var hangLists atomic.Bool
	listCancelled, release := make(chan struct{}, 4), make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server stops: a hung listing must not hold it
	s.srv.AddReceivingMiddleware(func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			if method == "tools/list" && hangLists.Load() {
				select {
				case <-ctx.Done():
					listCancelled <- struct{}{}
				case <-release:
				}
				return nil, errors.New("tools/list hung")
			}
			return next(ctx, method, req)
		}
	})
	u := upStart(t, s.config(), mcp.UpstreamOptions{CallTimeout: 300 * time.Millisecond, ConnectTimeout: time.Hour})
	hangLists.Store(true)
	s.srv.AddTool(&sdk.Tool{Name: "late", InputSchema: upObject}, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{}, nil
	}) // list_changed: the upstream lists its tools again, and that hangs
	upRecv(t, listCancelled, "the hung tools/list to be cancelled")
	if st := u.Status(); st.State != mcp.UpstreamReady || st.Tools != 4 {
		t.Errorf("status %+v; want ready with the 4 tools listed before", st)
	}
}
