package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// upBin is the go-sdk conformance everything-server, built once per test
// binary into a directory TestMain removes.
var upBin struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcpmesh-mcp-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	upBin.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// upEverything builds (once) and returns the everything-server binary. It is
// a tool of the module, so `go build` resolves it from go.mod.
func upEverything(t *testing.T) string {
	t.Helper()
	upBin.once.Do(func() {
		upBin.path = filepath.Join(upBin.dir, "everything")
		cmd := exec.Command("go", "build", "-o", upBin.path,
			"github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
		if out, err := cmd.CombinedOutput(); err != nil {
			upBin.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if upBin.err != nil {
		t.Fatalf("build the everything-server: %v", upBin.err)
	}
	return upBin.path
}

// upStart starts an upstream, closes it at cleanup, and waits until ready.
func upStart(t *testing.T, cfg mcp.ServerConfig, opts mcp.UpstreamOptions) *mcp.Upstream {
	t.Helper()
	u := upStartNoWait(t, cfg, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := u.WaitReady(ctx); err != nil {
		t.Fatalf("upstream %s not ready: %v (status %+v)", cfg.Name, err, u.Status())
	}
	return u
}

func upStartNoWait(t *testing.T, cfg mcp.ServerConfig, opts mcp.UpstreamOptions) *mcp.Upstream {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u := mcp.NewUpstream(cfg, opts)
	u.Start(context.Background())
	t.Cleanup(func() { _ = u.Close() })
	return u
}

// upCall makes one request through the upstream for peer.
func upCall(t *testing.T, u *mcp.Upstream, peer mcp.Client, method, params string) (json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return u.Call(ctx, &mcp.Request{Method: method, Params: json.RawMessage(params), Client: peer})
}

// upToolText is the text of a tools/call result and its isError flag.
func upToolText(t *testing.T, raw json.RawMessage) (string, bool) {
	t.Helper()
	var r struct {
		Content []struct {
			Type, Text string
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("not a tool result: %s", raw)
	}
	var texts []string
	for _, c := range r.Content {
		texts = append(texts, c.Text)
	}
	return strings.Join(texts, "\n"), r.IsError
}

// upFakePeer is an in-process stand-in for a downstream client session.
type upFakePeer struct {
	sid, caps, level string
	done             chan struct{}
	answer           func(method string, params json.RawMessage) (json.RawMessage, error)

	mu    sync.Mutex
	notes []upNote
	reqs  []upNote
}

type upNote struct {
	Method string
	Params json.RawMessage
}

func newUpFakePeer(sid, caps, level string) *upFakePeer {
	return &upFakePeer{sid: sid, caps: caps, level: level, done: make(chan struct{})}
}

func (p *upFakePeer) SessionID() string             { return p.sid }
func (p *upFakePeer) LogLevel() string              { return p.level }
func (p *upFakePeer) Capabilities() json.RawMessage { return json.RawMessage(p.caps) }
func (p *upFakePeer) Done() <-chan struct{}         { return p.done }

func (p *upFakePeer) Notify(_ context.Context, method string, params any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notes = append(p.notes, upNote{method, b})
	return nil
}

func (p *upFakePeer) Request(_ context.Context, method string, params any) (json.RawMessage, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, upNote{method, b})
	p.mu.Unlock()
	if p.answer == nil {
		return nil, errors.New("fake peer: no answer configured")
	}
	return p.answer(method, b)
}

// notifications are the params of the notifications received with method.
func (p *upFakePeer) notifications(method string) []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []json.RawMessage
	for _, n := range p.notes {
		if n.Method == method {
			out = append(out, n.Params)
		}
	}
	return out
}

func (p *upFakePeer) requests() []upNote {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]upNote(nil), p.reqs...)
}

// upNames are the values of field in each definition.
func upNames(t *testing.T, defs []json.RawMessage, field string) []string {
	t.Helper()
	var out []string
	for _, d := range defs {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatalf("definition is not an object: %s", d)
		}
		s, _ := m[field].(string)
		out = append(out, s)
	}
	return out
}
