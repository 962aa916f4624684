package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

const upAPIKey = "k1"

// upHTTPServer is an in-process go-sdk server over Streamable HTTP on
// 127.0.0.1 that wants X-Api-Key: k1.
type upHTTPServer struct {
	srv       *sdk.Server
	hs        *httptest.Server
	url       string
	started   chan struct{} // the block tool began
	cancelled chan struct{} // the block tool saw its context end
	subs      chan string   // resources/subscribe reached the server
	unsubs    chan string
}

var upObject = json.RawMessage(`{"type":"object"}`)

func newUpHTTPServer(t *testing.T, addr string) *upHTTPServer {
	t.Helper()
	return newUpHTTPServerConns(t, addr, nil)
}

// newUpHTTPServerConns is newUpHTTPServer with connState told of every
// change of state of its connections (if not nil).
func newUpHTTPServerConns(t *testing.T, addr string, connState func(net.Conn, http.ConnState)) *upHTTPServer {
	t.Helper()
	s := &upHTTPServer{started: make(chan struct{}, 8), cancelled: make(chan struct{}, 8),
		subs: make(chan string, 8), unsubs: make(chan string, 8)}
	s.srv = sdk.NewServer(&sdk.Implementation{Name: "http-test", Version: "1"}, &sdk.ServerOptions{
		SubscribeHandler:   func(_ context.Context, r *sdk.SubscribeRequest) error { s.subs <- r.Params.URI; return nil },
		UnsubscribeHandler: func(_ context.Context, r *sdk.UnsubscribeRequest) error { s.unsubs <- r.Params.URI; return nil },
	})
	s.addFeatures()
	mcpHandler := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.srv }, nil)
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != upAPIKey {
			http.Error(w, "bad api key", http.StatusUnauthorized)
			return
		}
		mcpHandler.ServeHTTP(w, r)
	}))
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s.hs.Listener = l
	}
	s.hs.Config.ConnState = connState
	s.hs.Start()
	s.url = s.hs.URL + "/mcp"
	t.Cleanup(s.stop)
	return s
}

func (s *upHTTPServer) stop() {
	s.hs.CloseClientConnections()
	s.hs.Close()
}

func (s *upHTTPServer) addFeatures() {
	s.srv.AddTool(&sdk.Tool{Name: "block", InputSchema: upObject}, func(ctx context.Context, _ *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		s.started <- struct{}{}
		<-ctx.Done()
		s.cancelled <- struct{}{}
		return nil, ctx.Err()
	})
	s.srv.AddTool(&sdk.Tool{Name: "echo_args", InputSchema: upObject}, func(_ context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(r.Params.Arguments)}}}, nil
	})
	s.srv.AddTool(&sdk.Tool{Name: "log", InputSchema: upObject}, func(ctx context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		for _, level := range []sdk.LoggingLevel{"debug", "info", "warning"} {
			_ = r.Session.Log(ctx, &sdk.LoggingMessageParams{Level: level, Data: "at " + string(level)})
		}
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "logged"}}}, nil
	})
	s.srv.AddTool(&sdk.Tool{Name: "fail", InputSchema: upObject}, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return nil, errors.New("the disk is full")
	})
	s.srv.AddResource(&sdk.Resource{URI: "test://r", Name: "r"}, func(_ context.Context, r *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: r.Params.URI, Text: "r"}}}, nil
	})
}

func (s *upHTTPServer) config() mcp.ServerConfig {
	return mcp.ServerConfig{Name: "web", URL: s.url, Headers: map[string]string{"X-Api-Key": upAPIKey}}
}

// upRecv waits for one value on ch.
func upRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// upCountingTransport counts the requests of the base HTTP client.
type upCountingTransport struct{ n atomic.Int32 }

func (c *upCountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestUpstreamHTTPHeaders(t *testing.T) {
	s := newUpHTTPServer(t, "")
	cases := []struct {
		name    string
		headers map[string]string
		wantErr string
	}{
		{"configured header sent", map[string]string{"X-Api-Key": upAPIKey}, ""},
		{"wrong header", map[string]string{"X-Api-Key": "nope"}, "Unauthorized"},
		{"no header", nil, "Unauthorized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := &upCountingTransport{}
			cfg := mcp.ServerConfig{Name: "web", URL: s.url, Headers: c.headers}
			u := upStartNoWait(t, cfg, mcp.UpstreamOptions{HTTPClient: &http.Client{Transport: base}, MinBackoff: time.Hour})
			err := u.WaitReady(t.Context())
			st := u.Status()
			if c.wantErr == "" && (err != nil || st.State != mcp.UpstreamReady || st.Transport != "http" || st.Tools != 4) {
				t.Fatalf("WaitReady = %v, status %+v; want ready with 4 tools", err, st)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || st.State != mcp.UpstreamFailed) {
				t.Fatalf("WaitReady = %v, status %+v; want failed with %q", err, st, c.wantErr)
			}
			if base.n.Load() == 0 {
				t.Error("the configured HTTP client was not used")
			}
		})
	}
}

func TestUpstreamHTTPCallCancellationReachesTheServer(t *testing.T) {
	s := newUpHTTPServer(t, "")
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := u.Call(ctx, &mcp.Request{Method: "tools/call", Params: json.RawMessage(`{"name":"block"}`),
			Client: newUpFakePeer("s", `{}`, "")})
		errc <- err
	}()
	upRecv(t, s.started, "the tool to start")
	cancel()
	if err := upRecv(t, errc, "the call to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Call = %v, want context.Canceled", err)
	}
	upRecv(t, s.cancelled, "the server to see the cancellation")
}

func TestUpstreamHTTPArgumentsPassThroughUnchanged(t *testing.T) {
	s := newUpHTTPServer(t, "")
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	cases := []struct{ name, params, want string }{
		{"numbers and escapes as sent", `{"name":"echo_args","arguments":{"big":12345678901234567890,"f":1.50,"s":"é\u0000"}}`,
			`{"big":12345678901234567890,"f":1.50,"s":"é\u0000"}`},
		{"none", `{"name":"echo_args"}`, "{}"},
		{"null", `{"name":"echo_args","arguments":null}`, "{}"},
		{"empty", `{"name":"echo_args","arguments":{}}`, "{}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", c.params)
			if text, _ := upToolText(t, raw); err != nil || text != c.want {
				t.Errorf("the server got %q (%v), want %q", text, err, c.want)
			}
		})
	}
}

func TestUpstreamHTTPLogMessagesBeforeTheResult(t *testing.T) {
	s := newUpHTTPServer(t, "")
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	peer := newUpFakePeer("s", `{}`, "info")
	for i := 1; i <= 5; i++ {
		if _, err := upCall(t, u, peer, "tools/call", `{"name":"log"}`); err != nil {
			t.Fatal(err)
		}
		msgs := peer.notifications("notifications/message")
		if len(msgs) != 2*i {
			t.Fatalf("after call %d: %d messages, want %d (info and warning each time): %s", i, len(msgs), 2*i, msgs)
		}
		if !strings.Contains(string(msgs[len(msgs)-1]), `"level":"warning"`) {
			t.Errorf("last message %s, want the warning", msgs[len(msgs)-1])
		}
	}
}

func TestUpstreamHTTPListChanged(t *testing.T) {
	s := newUpHTTPServer(t, "")
	var changes atomic.Int32
	u := upStart(t, s.config(), mcp.UpstreamOptions{OnChange: func() { changes.Add(1) }})
	listed := func(defs func(mcp.Definitions) []json.RawMessage, field, name string) func() bool {
		return func() bool { return slices.Contains(upNames(t, defs(u.Snapshot()), field), name) }
	}
	tools := func(d mcp.Definitions) []json.RawMessage { return d.Tools }
	steps := []struct {
		name   string
		change func()
		done   func() bool
	}{
		{"tool added", func() {
			s.srv.AddTool(&sdk.Tool{Name: "late", InputSchema: upObject}, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{}, nil
			})
		}, listed(tools, "name", "late")},
		{"tool removed", func() { s.srv.RemoveTools("late") }, func() bool { return !listed(tools, "name", "late")() }},
		{"prompt added (none declared at first)", func() {
			s.srv.AddPrompt(&sdk.Prompt{Name: "greet"}, func(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
				return &sdk.GetPromptResult{}, nil
			})
		}, listed(func(d mcp.Definitions) []json.RawMessage { return d.Prompts }, "name", "greet")},
		{"resource added", func() {
			s.srv.AddResource(&sdk.Resource{URI: "test://new", Name: "new"}, nil)
		}, listed(func(d mcp.Definitions) []json.RawMessage { return d.Resources }, "uri", "test://new")},
	}
	for _, step := range steps {
		before := changes.Load()
		step.change()
		wait.For(t, 20*time.Second, step.done, "waiting for %s", step.name)
		if changes.Load() <= before {
			t.Errorf("%s: OnChange not called", step.name)
		}
	}
}

func TestUpstreamHTTPSubscriptions(t *testing.T) {
	s := newUpHTTPServer(t, "")
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	s1, s2 := newUpFakePeer("s1", `{}`, ""), newUpFakePeer("s2", `{}`, "")
	for _, p := range []*upFakePeer{s1, s2} {
		if raw, err := upCall(t, u, p, "resources/subscribe", `{"uri":"test://r"}`); err != nil || string(raw) != "{}" {
			t.Fatalf("subscribe %s = %s, %v", p.sid, raw, err)
		}
	}
	if got := upRecv(t, s.subs, "the upstream subscription"); got != "test://r" || len(s.subs) != 0 {
		t.Errorf("upstream subscribed to %q, then %d more times; want test://r once", got, len(s.subs))
	}
	if err := s.srv.ResourceUpdated(t.Context(), &sdk.ResourceUpdatedNotificationParams{URI: "test://r"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*upFakePeer{s1, s2} {
		wait.For(t, 20*time.Second, func() bool { return len(p.notifications("notifications/resources/updated")) == 1 }, "waiting for %s to get the update", p.sid)
		if n := p.notifications("notifications/resources/updated")[0]; !strings.Contains(string(n), `"uri":"test://r"`) {
			t.Errorf("update %s", n)
		}
	}
	if _, err := upCall(t, u, s1, "resources/unsubscribe", `{"uri":"test://r"}`); err != nil || len(s.unsubs) != 0 {
		t.Fatalf("unsubscribe s1: %v; upstream unsubscribed %d times while s2 still listens", err, len(s.unsubs))
	}
	close(s2.done) // s2's session ends: the last subscriber goes
	if got := upRecv(t, s.unsubs, "the upstream unsubscription"); got != "test://r" {
		t.Errorf("upstream unsubscribed from %q", got)
	}
	_, err := upCall(t, u, newUpFakePeer("", `{}`, ""), "resources/subscribe", `{"uri":"test://r"}`)
	var e *mcp.Error
	if !errors.As(err, &e) || e.Code != mcp.CodeInvalidRequest || !strings.Contains(e.Message, "session") {
		t.Errorf("sessionless subscribe = %v, want an invalid request naming the session", err)
	}
}

func TestUpstreamHTTPServerRestart(t *testing.T) {
	s := newUpHTTPServer(t, "127.0.0.1:0")
	addr := s.hs.Listener.Addr().String()
	u := upStart(t, s.config(), mcp.UpstreamOptions{PingInterval: 50 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	peer := newUpFakePeer("s1", `{}`, "")
	if _, err := upCall(t, u, peer, "resources/subscribe", `{"uri":"test://r"}`); err != nil {
		t.Fatal(err)
	}
	upRecv(t, s.subs, "the subscription")
	s.stop()
	raw, err := upCall(t, u, peer, "tools/call", `{"name":"echo_args","arguments":{}}`)
	if err != nil {
		t.Fatalf("call with the server down: %v", err)
	}
	if text, isErr := upToolText(t, raw); !isErr || !strings.Contains(text, `upstream "web"`) {
		t.Errorf("call with the server down = %s, %v; want an isError result naming the upstream", raw, err)
	}
	wait.For(t, 20*time.Second, func() bool { return u.Status().State == mcp.UpstreamRestarting }, "waiting for the upstream to be restarting; status %+v", wait.Later(func() any { return u.Status() }))
	s2 := newUpHTTPServer(t, addr)
	wait.For(t, 20*time.Second, func() bool { return u.Status().State == mcp.UpstreamReady }, "waiting for the upstream to be ready again; status %+v", wait.Later(func() any { return u.Status() }))
	if st := u.Status(); st.Restarts < 1 || st.Tools != 4 {
		t.Errorf("status after restart %+v", st)
	}
	if got := upRecv(t, s2.subs, "the subscription renewed"); got != "test://r" {
		t.Errorf("renewed %q", got)
	}
	raw, err = upCall(t, u, peer, "tools/call", `{"name":"echo_args","arguments":{"x":1}}`)
	if text, isErr := upToolText(t, raw); err != nil || isErr || text != `{"x":1}` {
		t.Errorf("call after restart = %s, %v", raw, err)
	}
}

// A tool whose Go handler fails with a plain error reaches the caller as an
// isError result naming the upstream and saying what failed, not as a
// JSON-RPC error with code 0 (what the go-sdk sends for such an error).
func TestUpstreamHTTPPlainHandlerError(t *testing.T) {
	s := newUpHTTPServer(t, "")
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"fail","arguments":{}}`)
	if err != nil {
		t.Fatalf("tools/call of a failing tool: %v, want an isError result", err)
	}
	text, isErr := upToolText(t, raw)
	if !isErr || !strings.Contains(text, "the disk is full") || !strings.Contains(text, `"web"`) {
		t.Errorf("result %s: want isError naming the upstream and the handler's error", raw)
	}
}
