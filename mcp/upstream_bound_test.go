package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// upBigServer is an in-process go-sdk server over Streamable HTTP on
// 127.0.0.1 whose tools have descriptions of descBytes each, and whose
// "huge" tool answers with resultBytes of text ("small" with a few).
func upBigServer(t *testing.T, tools, descBytes, resultBytes, pageSize int, jsonAnswers bool) string {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "big", Version: "1"}, &sdk.ServerOptions{PageSize: pageSize})
	desc := strings.Repeat("d", descBytes)
	for i := range tools {
		srv.AddTool(&sdk.Tool{Name: fmt.Sprintf("t%03d", i), Description: desc, InputSchema: upObject},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{}, nil
			})
	}
	text := func(n int) sdk.ToolHandler {
		return func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strings.Repeat("r", n)}}}, nil
		}
	}
	srv.AddTool(&sdk.Tool{Name: "huge", InputSchema: upObject}, text(resultBytes))
	srv.AddTool(&sdk.Tool{Name: "small", InputSchema: upObject}, text(10))
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
		&sdk.StreamableHTTPOptions{JSONResponse: jsonAnswers})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	return hs.URL + "/mcp"
}

// upReadCounter counts the bytes read from the answers' bodies.
type upReadCounter struct{ n atomic.Int64 }

func (c *upReadCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &upCountedBody{ReadCloser: resp.Body, n: &c.n}
	}
	return resp, err
}

type upCountedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *upCountedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// upSlack is what a reader may read past a bound: one buffer of the
// bounded reader and the HTTP client's.
const upSlack = 96 << 10

func TestUpstreamResultOverTheBoundIsResultTooLarge(t *testing.T) {
	const bound, result = 256 << 10, 8 << 20
	for _, jsonAnswers := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonAnswers), func(t *testing.T) {
			url := upBigServer(t, 1, 10, result, 0, jsonAnswers)
			counter := &upReadCounter{}
			var tooLarge atomic.Int32
			u := upStart(t, mcp.ServerConfig{Name: "big", URL: url}, mcp.UpstreamOptions{
				HTTPClient: &http.Client{Transport: counter}, MaxResultBytes: bound,
				OnTooLarge: func() { tooLarge.Add(1) },
			})
			before := counter.n.Load()
			res, err := upCall(t, u, nil, "tools/call", `{"name":"huge"}`)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			read := counter.n.Load() - before
			text, isError := upToolText(t, res)
			if !isError || mcp.StringField(upField(t, res, "_meta"), "mcpmesh/error") != "result_too_large" ||
				!strings.Contains(text, `"big"`) || !strings.Contains(text, "--max-result-bytes") {
				t.Fatalf("want result_too_large naming the upstream and the flag, got %.300s", res)
			}
			if read > bound+upSlack {
				t.Errorf("read %d bytes of an %d-byte answer; the bound is %d", read, result, bound)
			}
			if tooLarge.Load() != 1 {
				t.Errorf("OnTooLarge called %d times, want 1", tooLarge.Load())
			}
			res, err = upCall(t, u, nil, "tools/call", `{"name":"small"}`)
			if text, isError := upToolText(t, res); err != nil || isError || text != "rrrrrrrrrr" {
				t.Fatalf("the session must still serve: %s, %v", res, err)
			}
		})
	}
}

func upField(t *testing.T, raw json.RawMessage, field string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	return m[field]
}

func TestUpstreamCatalogCutToTheByteBound(t *testing.T) {
	const bound, desc, tools = 1 << 20, 64 << 10, 40
	url := upBigServer(t, tools, desc, 10, 4, false)
	logs := &testlog.Buffer{}
	var cuts []mcp.Truncation
	var mu sync.Mutex
	u := upStart(t, mcp.ServerConfig{Name: "big", URL: url}, mcp.UpstreamOptions{
		Logger: slog.New(slog.NewTextHandler(logs, nil)), MaxCatalogBytes: bound,
		OnTruncate: func(c mcp.Truncation) { mu.Lock(); cuts = append(cuts, c); mu.Unlock() },
	})
	defs := u.Snapshot()
	kept := len(defs.Tools)
	var size int
	for _, d := range defs.Tools {
		size += len(d)
	}
	if kept == 0 || size > bound || kept >= tools {
		t.Fatalf("kept %d tools of %d in %d bytes; the bound is %d", kept, tools, size, bound)
	}
	order := []string{"huge", "small"} // the go-sdk server lists by name
	for i := range tools {
		order = append(order, fmt.Sprintf("t%03d", i))
	}
	if got := upNames(t, defs.Tools, "name"); !slices.Equal(got, order[:kept]) {
		t.Errorf("the kept tools must be the first ones in the server's order, got %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cuts) != 1 || cuts[0].Reason != mcp.CutBytes || cuts[0].Entries != tools+2-kept || cuts[0].Bytes < int64(desc*(tools-kept)) {
		t.Errorf("want one bytes cut of %d entries, got %+v", tools+2-kept, cuts)
	}
	if n := strings.Count(logs.String(), "upstream listing cut"); n != 1 || !strings.Contains(logs.String(), "upstream=big") {
		t.Errorf("want one log line naming the upstream, got %d in:\n%s", n, logs.String())
	}
}

func TestUpstreamCatalogPageOverTheBound(t *testing.T) {
	const bound = 1 << 20
	url := upBigServer(t, 40, 64<<10, 10, 0, false) // one page of 2.6 MB
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			counter := &upReadCounter{}
			u := upStartNoWait(t, mcp.ServerConfig{Name: "big", URL: url}, mcp.UpstreamOptions{
				HTTPClient: &http.Client{Transport: counter}, MaxCatalogBytes: bound, StaleOnListError: stale,
			})
			err := u.WaitReady(context.Background())
			st := u.Status()
			why := st.Error + st.ListError
			if (err == nil) != stale || !strings.Contains(why, "--max-catalog-bytes") {
				t.Fatalf("ready err %v, status %+v", err, st)
			}
			if stale && (st.State != mcp.UpstreamReady || st.ListError == "" || st.Tools != 0) {
				t.Errorf("want a ready upstream with its listing error, got %+v", st)
			}
			if read := counter.n.Load(); read > 2*(bound+upSlack) {
				t.Errorf("read %d bytes; the bound is %d per page", read, bound)
			}
		})
	}
}
