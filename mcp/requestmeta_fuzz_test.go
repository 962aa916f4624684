package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzStatelessDecoders: whatever a 2026-07-28 request carries in params
// (its _meta) and in the MCP-Protocol-Version, Mcp-Method and Mcp-Name
// headers, checkStateless does not panic; it accepts only a request whose
// _meta names 2026-07-28 with a capabilities object and whose headers say
// what the body says (Mcp-Name after Base64 decoding), and refuses any
// other with -32602, -32020 or -32022 and a message. The Server answers it
// with no 5xx. Base64 header values decode to what was encoded, and
// stripping _meta keeps the other params.
func FuzzStatelessDecoders(f *testing.F) {
	good := `{"name":"whoami","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}`
	f.Add("tools/call", good, "2026-07-28", "tools/call", "whoami")
	f.Add("tools/call", good, "2026-07-28", "tools/call", "=?base64?d2hvYW1p?=")
	f.Add("tools/call", good, "2026-07-28", "tools/call", "=?base64?***?=")
	f.Add("tools/call", good, "2026-07-28", "tools/list", "whoami")
	f.Add("tools/call", good, "", "tools/call", "wh\x80oami")
	f.Add("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999","io.modelcontextprotocol/clientCapabilities":{}}}`, "v999", "server/discover", "")
	f.Add("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":2026,"io.modelcontextprotocol/clientCapabilities":[]}}`, "2026-07-28", "server/discover", "")
	f.Add("resources/read", `{"uri":"a:b","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"loud"}}`, "2026-07-28", "resources/read", "a:b")
	f.Add("prompts/get", `[1,2]`, "2026-07-28", "prompts/get", "")
	f.Add("tools/list", `{"_meta":null}`, "2026-07-28", "tools/list", "")
	srv := NewServer(NewCatalog("n1", nil), ServerOptions{})
	f.Cleanup(srv.Close)
	f.Fuzz(func(t *testing.T, method, params, hVersion, hMethod, hName string) {
		m := &Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: json.RawMessage(params)}
		h := http.Header{}
		for k, v := range map[string]string{headerProtocolVersion: hVersion, headerMethod: hMethod, headerName: hName} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		rm, err := checkStateless(h, m)
		if err == nil {
			checkAccepted(t, rm, m, hMethod, hName)
		} else if !slices.Contains([]int{CodeInvalidParams, CodeHeaderMismatch, CodeUnsupportedProtocolVersion}, err.Code) || err.Message == "" {
			t.Fatalf("refused with %d %q", err.Code, err.Message)
		}
		checkRoundTrip(t, hName)
		checkStrip(t, json.RawMessage(params))
		checkServed(t, srv, method, params, h)
	})
}

func checkAccepted(t *testing.T, rm requestMeta, m *Message, hMethod, hName string) {
	if rm.version != StatelessVersion || len(rm.caps) == 0 || rm.caps[0] != '{' || hMethod != m.Method {
		t.Fatalf("accepted %+v for method %q with Mcp-Method %q", rm, m.Method, hMethod)
	}
	if rm.logLevel != "" && !slices.Contains(logLevels, rm.logLevel) {
		t.Fatalf("accepted log level %q", rm.logLevel)
	}
	if want, named := nameOf(m); named {
		if got, ok := decodeHeaderValue(hName); !ok || got != want {
			t.Fatalf("accepted Mcp-Name %q for body name %q", hName, want)
		}
	}
}

func checkRoundTrip(t *testing.T, s string) {
	if !utf8.ValidString(s) {
		return
	}
	enc := "=?base64?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
	if got, ok := decodeHeaderValue(enc); !ok || got != s {
		t.Fatalf("decode(encode(%q)) = %q, %v", s, got, ok)
	}
}

func checkStrip(t *testing.T, params json.RawMessage) {
	var before map[string]json.RawMessage
	if json.Unmarshal(params, &before) != nil {
		return
	}
	var after map[string]json.RawMessage
	if err := json.Unmarshal(stripRequestMeta(params), &after); err != nil {
		t.Fatalf("stripped %s is not an object: %v", params, err)
	}
	for k := range before {
		if _, ok := after[k]; !ok && k != "_meta" {
			t.Fatalf("stripping %s lost %q", params, k)
		}
	}
	if v, ok := metaVersion(stripRequestMeta(params)); ok {
		t.Fatalf("stripped %s still names version %q", params, v)
	}
}

// checkServed sends the request to the Server as a 2026-07-28 POST: no
// 5xx. A subscriptions/listen stream would stay open: its client is gone
// from the start.
func checkServed(t *testing.T, srv *Server, method, params string, h http.Header) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": json.RawMessage(params)})
	if !json.Valid([]byte(params)) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if method == "subscriptions/listen" {
		cancel()
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(string(body)))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set(headerProtocolVersion, StatelessVersion)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", method, params, rec.Code, rec.Body)
	}
}

// FuzzParamHeaders: no inputSchema, arguments or Mcp-Param value panics the
// x-mcp-header check; it accepts a present argument only with a header
// that decodes to it, and refuses with -32020 and a message.
func FuzzParamHeaders(f *testing.F) {
	f.Add(`{"properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`, `{"region":"us"}`, "us")
	f.Add(`{"properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`, `{"region":"Hello"}`, "=?base64?SGVsbG8?=")
	f.Add(`{"properties":{"n":{"type":"integer","x-mcp-header":"N"}}}`, `{"n":42}`, "42.0")
	f.Add(`{"properties":{"o":{"properties":{"m":{"x-mcp-header":"M"}}}}}`, `{"o":{"m":true}}`, "")
	f.Add(`{"x-mcp-header":"Root","properties":[]}`, `[1]`, "\x7f")
	f.Fuzz(func(t *testing.T, schema, args, value string) {
		for _, hp := range schemaParams(json.RawMessage(schema), nil) {
			h := http.Header{}
			if value != "" {
				h.Set("Mcp-Param-"+hp.header, value)
			}
			v := argAt(json.RawMessage(args), hp.path)
			err := checkParamHeader(h, hp, v)
			if err != nil && (err.Code != CodeHeaderMismatch || err.Message == "") {
				t.Fatalf("refused with %d %q", err.Code, err.Message)
			}
			if err == nil && v != nil {
				if got, ok := decodeHeaderValue(h.Get("Mcp-Param-" + hp.header)); !ok || !sameArg(got, argText(v), v) {
					t.Fatalf("accepted header %q for argument %s", value, v)
				}
			}
		}
	})
}
