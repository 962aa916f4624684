package mcp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// headerTools is a Source with one tool whose inputSchema mirrors region,
// level and opts.mode into Mcp-Param-* headers.
type headerTools struct{}

func (headerTools) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: []json.RawMessage{json.RawMessage(`{"name":"sql","inputSchema":{"type":"object","properties":{
		"region":{"type":"string","x-mcp-header":"Region"},
		"level":{"type":"integer","x-mcp-header":"Level"},
		"opts":{"type":"object","properties":{"mode":{"type":"string","x-mcp-header":"Mode"}}},
		"query":{"type":"string"}}}}`)}}
}

func (headerTools) Call(context.Context, *mcp.Request) (json.RawMessage, error) {
	return mcp.ToolText("ok"), nil
}

func TestParamHeadersChecked(t *testing.T) {
	hs, cat, _ := newTestServer(t, mcp.ServerOptions{})
	if err := cat.Add("db", "", headerTools{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args map[string]any
		hdr  map[string]string
		code int // 0: served
	}{
		{"value and its header", map[string]any{"region": "us-west1"}, map[string]string{"Mcp-Param-Region": "us-west1"}, 0},
		{"header name in any case", map[string]any{"region": "us-west1"}, map[string]string{"mcp-param-region": "us-west1"}, 0},
		{"value without its header", map[string]any{"region": "us-west1"}, nil, -32020},
		{"header differs", map[string]any{"region": "us-west1"}, map[string]string{"Mcp-Param-Region": "eu"}, -32020},
		{"Base64 header", map[string]any{"region": "Hello"}, map[string]string{"Mcp-Param-Region": "=?base64?SGVsbG8=?="}, 0},
		{"Base64 without padding", map[string]any{"region": "Hello"}, map[string]string{"Mcp-Param-Region": "=?base64?SGVsbG8?="}, -32020},
		{"Base64 with bad characters", map[string]any{"region": "Hello"}, map[string]string{"Mcp-Param-Region": "=?base64?SGVs!!!bG8=?="}, -32020},
		{"no prefix is literal", map[string]any{"region": "SGVsbG8="}, map[string]string{"Mcp-Param-Region": "SGVsbG8="}, 0},
		{"no value, no header", map[string]any{"query": "x"}, nil, 0},
		{"null value, no header", map[string]any{"region": nil}, nil, 0},
		{"integer compared as a number", map[string]any{"level": 42}, map[string]string{"Mcp-Param-Level": "42.0"}, 0},
		{"integer differs", map[string]any{"level": 42}, map[string]string{"Mcp-Param-Level": "43"}, -32020},
		{"nested value without its header", map[string]any{"opts": map[string]any{"mode": "fast"}}, nil, -32020},
		{"nested value and its header", map[string]any{"opts": map[string]any{"mode": "fast"}}, map[string]string{"Mcp-Param-Mode": "fast"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := req2026{method: "tools/call", params: map[string]any{"name": "sql", "arguments": tt.args}, hdr: tt.hdr}
			resp := q.send(t, hs.URL)
			m := answer(t, resp)
			code := 0
			if m.Error != nil {
				code = m.Error.Code
			}
			if code != tt.code || (code == 0) != (resp.StatusCode == 200) {
				t.Fatalf("status %d, error %+v; want code %d", resp.StatusCode, m.Error, tt.code)
			}
		})
	}
	// A tool without annotations needs no Mcp-Param header.
	q := req2026{method: "tools/call", params: map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}}
	if resp := q.send(t, hs.URL); resp.StatusCode != 200 {
		t.Errorf("echo: status %d", resp.StatusCode)
	}
}
