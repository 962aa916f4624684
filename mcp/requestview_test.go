package mcp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadParams(t *testing.T) {
	for _, tc := range []struct {
		name, params string
		want         ParamsView
	}{
		{"tools/call", `{"name":"echo","arguments":{"text":"hi"},"_meta":{"progressToken":7}}`,
			ParamsView{Object: true, Name: "echo", Arguments: json.RawMessage(`{"text":"hi"}`),
				Meta: json.RawMessage(`{"progressToken":7}`), ProgressToken: json.RawMessage(`7`)}},
		{"escaped name", `{"name":"a\u00e9\"b"}`, ParamsView{Object: true, Name: "aé\"b"}},
		{"name not UTF-8", "{\"name\":\"a\xffb\"}", ParamsView{Object: true, Name: "a\ufffdb"}},
		{"name not a string", `{"name":5,"uri":"a:b"}`, ParamsView{Object: true, URI: "a:b"}},
		{"null token", `{"_meta":{"progressToken":null}}`, ParamsView{Object: true, Meta: json.RawMessage(`{"progressToken":null}`)}},
		{"ref", `{"ref":{"type":"ref/prompt","name":"p"}}`,
			ParamsView{Object: true, Ref: json.RawMessage(`{"type":"ref/prompt","name":"p"}`), RefType: "ref/prompt", RefName: "p"}},
		{"array", `[1]`, ParamsView{}},
		{"null", `null`, ParamsView{}},
		{"not JSON", `{"name":"x"`, ParamsView{}},
		{"absent", ``, ParamsView{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := *viewOf(json.RawMessage(tc.params))
			tc.want.Raw = json.RawMessage(tc.params)
			if !sameView(got, tc.want) {
				t.Fatalf("viewOf(%s) = %+v, want %+v", tc.params, got, tc.want)
			}
		})
	}
}

func sameView(a, b ParamsView) bool {
	return string(a.Raw) == string(b.Raw) && a.Object == b.Object && a.Name == b.Name && a.URI == b.URI &&
		string(a.Ref) == string(b.Ref) && a.RefType == b.RefType && a.RefName == b.RefName && a.RefURI == b.RefURI &&
		string(a.Arguments) == string(b.Arguments) && string(a.Meta) == string(b.Meta) && string(a.ProgressToken) == string(b.ProgressToken)
}

// TestRenamedCarriesItsView: a renamed request's view says what reading
// its new params says, and the view read at dispatch is the one carried.
func TestRenamedCarriesItsView(t *testing.T) {
	for _, tc := range []struct {
		name, params, outer, inner string
	}{
		{"tool", `{"name":"b__echo","arguments":{"text":"x"},"_meta":{"progressToken":"t"}}`, "name", ""},
		{"completion", `{"ref":{"type":"ref/prompt","name":"b__p"},"argument":{"name":"a","value":"v"}}`, "ref", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, jerr := DecodeMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"x","params":` + tc.params + `}`))
			if jerr != nil {
				t.Fatal(jerr)
			}
			req := &Request{Method: "x", Params: m.Params, view: m.paramsView()}
			if req.View() != m.view {
				t.Fatal("the view read at dispatch is not the one the request carries")
			}
			out, err := req.Renamed(tc.outer, tc.inner, "echo")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := *out.View(), *viewOf(out.Params); !sameView(got, want) || out.view == nil {
				t.Fatalf("renamed view %+v, reading %s gives %+v", got, out.Params, want)
			}
		})
	}
}

// TestCallAllocs bounds the allocations of one tools/call of the demo
// echo, served from the body to the answer, as a 2026-07-28 request and as
// a plain (sessionless) POST: the request is read once at dispatch and the
// result decorated by splicing. Reading and re-encoding the params and the
// result at each layer made 229 and 102.
func TestCallAllocs(t *testing.T) {
	srv := echoServer(t)
	for _, tc := range echoCalls {
		t.Run(tc.name, func(t *testing.T) {
			n := testing.AllocsPerRun(50, func() { callOnce(t, srv, tc.h, tc.body) })
			if n > tc.bound {
				t.Fatalf("an echo made %.0f allocations, more than %.0f", n, tc.bound)
			}
			t.Logf("%.0f allocations", n)
		})
	}
}

// BenchmarkServeEcho serves the calls of TestCallAllocs, in process (no
// network): the cost of the mcp layer alone, for -cpuprofile.
func BenchmarkServeEcho(b *testing.B) {
	srv := echoServer(b)
	for _, tc := range echoCalls {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				callOnce(b, srv, tc.h, tc.body)
			}
		})
	}
}

const echoMeta = `"_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`

var echoCalls = []struct {
	name, body string
	h          http.Header
	bound      float64
}{
	{"stateless", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"bench"},` + echoMeta + `}}`,
		http.Header{headerProtocolVersion: {StatelessVersion}, headerMethod: {"tools/call"}, headerName: {"echo"},
			"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}, 110},
	{"plain POST", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"bench"}}}`,
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}, 70},
}

func echoServer(t testing.TB) *Server {
	cat := NewCatalog("n1", nil)
	if err := cat.Add("demo", "", NewDemo("n1")); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cat, ServerOptions{})
	t.Cleanup(srv.Close)
	return srv
}

func callOnce(t testing.TB, srv *Server, h http.Header, body string) {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
	req.Header = h.Clone()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"text":"bench"`) {
		t.Fatalf("answered %d: %s", rec.Code, rec.Body)
	}
}
