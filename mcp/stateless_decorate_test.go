package mcp

import (
	"encoding/json"
	"testing"
)

// TestDecorate: decorate adds resultType, the node's serverInfo (merged
// into the result's _meta) and, for a complete cacheable result, ttlMs and
// cacheScope; everything else in the result stays as it was, and an
// input_required result gets no caching hints.
func TestDecorate(t *testing.T) {
	srv := NewServer(NewCatalog("n1", nil), ServerOptions{NodeName: "n1", Version: "v1"})
	t.Cleanup(srv.Close)
	const info = `{"name":"n1","version":"v1"}`
	for _, tc := range []struct {
		name, res string
		ttl       int
		want      string // "" when refused
	}{
		{"tool result", `{"content":[{"type":"text","text":"}{"}],"_meta":{"mcpmesh/source":"n1"}}`, -1,
			`{"content":[{"type":"text","text":"}{"}],"resultType":"complete","_meta":{"mcpmesh/source":"n1","` + MetaServerInfo + `":` + info + `}}`},
		{"list", `{"tools":[]}`, ListTTL,
			`{"tools":[],"resultType":"complete","_meta":{"` + MetaServerInfo + `":` + info + `},"ttlMs":30000,"cacheScope":"private"}`},
		{"input_required", `{"resultType":"input_required","inputRequests":{"a":{}},"requestState":"s"}`, ListTTL,
			`{"resultType":"input_required","inputRequests":{"a":{}},"requestState":"s","_meta":{"` + MetaServerInfo + `":` + info + `}}`},
		{"meta not an object", `{"_meta":5}`, -1, `{"resultType":"complete","_meta":{"` + MetaServerInfo + `":` + info + `}}`},
		{"null", `null`, -1, `{"resultType":"complete","_meta":{"` + MetaServerInfo + `":` + info + `}}`},
		{"array", `[1]`, -1, ""},
		{"not JSON", `{"a":`, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := srv.decorate(json.RawMessage(tc.res), tc.ttl, "private")
			if tc.want == "" {
				if err == nil {
					t.Fatalf("decorate(%s) = %s, want an error", tc.res, got)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("decorate(%s) = %s, %v; want %s", tc.res, got, err, tc.want)
			}
		})
	}
}

// TestStripStatelessResult: what decorate added comes off again, and
// nothing else (an input_required result keeps its resultType).
func TestStripStatelessResult(t *testing.T) {
	info := `"` + MetaServerInfo + `":{"name":"b"}`
	for _, tc := range []struct{ name, in, want string }{
		{"complete", `{"content":[],"resultType":"complete","_meta":{` + info + `},"ttlMs":1,"cacheScope":"private"}`, `{"content":[]}`},
		{"other meta stays", `{"isError":true,"_meta":{"mcpmesh/error":"x",` + info + `},"resultType":"complete"}`, `{"isError":true,"_meta":{"mcpmesh/error":"x"}}`},
		{"input_required", `{"resultType":"input_required","requestState":"s","_meta":{` + info + `}}`, `{"resultType":"input_required","requestState":"s"}`},
		{"meta not an object", `{"_meta":5,"ttlMs":1}`, `{"_meta":5}`},
		{"not an object", `[1]`, `[1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripStatelessResult(json.RawMessage(tc.in)); string(got) != tc.want {
				t.Fatalf("StripStatelessResult(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
