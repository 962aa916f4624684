package mcp

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestStatelessParams(t *testing.T) {
	tests := []struct {
		name, params, level, caps, want string
	}{
		{"no _meta", `{"name":"echo","arguments":{"text":"x"}}`, "", "",
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"arguments":{"text":"x"},"name":"echo"}`},
		{"empty object", `{}`, "", `not json`,
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`},
		{"no params", ``, "debug", `[]`,
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`},
		{"a progress token kept", `{"name":"sleep","_meta":{"progressToken":7}}`, "info", "",
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"info","io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":7},"name":"sleep"}`},
		{"the caller's capabilities", `{"name":"echo"}`, "", `{"elicitation":{},"sampling":{}}`,
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{},"sampling":{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"echo"}`},
		{"the caller's capabilities beside a progress token", `{"name":"echo","_meta":{"progressToken":"p"}}`, "", `{"roots":{}}`,
			`{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"roots":{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":"p"},"name":"echo"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StatelessParams(json.RawMessage(tt.params), tt.level, json.RawMessage(tt.caps))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(tt.want), &w) != nil || !reflect.DeepEqual(g, w) {
				t.Errorf("StatelessParams(%s) = %s, want %s", tt.params, got, tt.want)
			}
			m := &Message{Method: "tools/list", Params: got}
			if rm, err := checkStateless(statelessHeaders(m), m); err != nil || rm.logLevel != tt.level {
				t.Errorf("the request does not pass the server's check: %v (log level %q)", err, rm.logLevel)
			}
		})
	}
	if _, err := StatelessParams(json.RawMessage(`[1]`), "", nil); err == nil {
		t.Error("params that are not an object were taken")
	}
}

func statelessHeaders(m *Message) http.Header {
	h := http.Header{}
	SetStatelessHeaders(h, m, nil)
	return h
}

func TestSetStatelessHeaders(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"n":{"type":"number","x-mcp-header":"N"}}}`)
	m := &Message{Method: "tools/call", Params: json.RawMessage(`{"name":"café","arguments":{"region":"eu west","n":42}}`)}
	h := http.Header{}
	SetStatelessHeaders(h, m, schema)
	want := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?Y2Fmw6k=?=", "Mcp-Param-Region": "eu west", "Mcp-Param-N": "42"}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if err := checkHeaders(h, m, StatelessVersion); err != nil {
		t.Errorf("the server refuses the headers: %v", err)
	}
	hp := schemaParams(schema, nil)
	for _, p := range hp {
		if err := checkParamHeader(h, p, argAt(json.RawMessage(`{"region":"eu west","n":42}`), p.path)); err != nil {
			t.Errorf("the server refuses %s: %v", p.header, err)
		}
	}
}

func TestReadStatelessAnswer(t *testing.T) {
	stream := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n" +
		": keep-alive\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}\n\n"
	var got []string
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: nopBody{strings.NewReader(stream)}}
	m, err := ReadStatelessAnswer(resp, func(n *Message) { got = append(got, n.Method) })
	if err != nil || string(m.Result) != `{"ok":true}` || len(got) != 1 || got[0] != "notifications/progress" {
		t.Fatalf("answer %+v, %v; notifications %v", m, err, got)
	}
	resp = &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: nopBody{strings.NewReader(stream[:100])}}
	if _, err := ReadStatelessAnswer(resp, nil); err == nil {
		t.Error("a stream cut before its answer gave no error")
	}
}

type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }

// TestStatelessParamsRefuses: params or a _meta that is not an object is
// refused, naming which.
func TestStatelessParamsRefuses(t *testing.T) {
	for _, tc := range []struct{ name, params, want string }{
		{"array", `[1]`, "params are not a JSON object"},
		{"not JSON", `{"a":`, "params are not a JSON object"},
		{"meta a number", `{"_meta":5}`, "params._meta is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := StatelessParams(json.RawMessage(tc.params), "", nil); err == nil || err.Error() != tc.want {
				t.Fatalf("StatelessParams(%s) error %v, want %q", tc.params, err, tc.want)
			}
		})
	}
}
