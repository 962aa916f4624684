package federation

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestChooseProvider: a healthy local provider first; else the fewest
// calls in flight, ties to the lowest known gossip RTT, then the name.
func TestChooseProvider(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		cs   []provChoice
		want string
	}{
		{"one", []provChoice{{node: "b"}}, "b"},
		{"local first, even busier", []provChoice{{node: "a", inFlight: 0}, {node: "c", local: true, inFlight: 9}}, "c"},
		{"fewest in flight", []provChoice{{node: "a", inFlight: 3, rtt: ms, rttKnown: true}, {node: "b", inFlight: 1, rtt: 9 * ms, rttKnown: true}}, "b"},
		{"tie: lowest rtt", []provChoice{{node: "a", inFlight: 1, rtt: 5 * ms, rttKnown: true}, {node: "b", inFlight: 1, rtt: 2 * ms, rttKnown: true}}, "b"},
		{"tie: a known rtt beats an unknown", []provChoice{{node: "a", inFlight: 1}, {node: "b", inFlight: 1, rtt: 50 * ms, rttKnown: true}}, "b"},
		{"tie: name", []provChoice{{node: "c", rtt: ms, rttKnown: true}, {node: "b", rtt: ms, rttKnown: true}}, "b"},
		{"tie: name, rtt unknown", []provChoice{{node: "z"}, {node: "y"}, {node: "x"}}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cs[choose(tt.cs)].node; got != tt.want {
				t.Fatalf("choose = %s, want %s", got, tt.want)
			}
		})
	}
}

func svcDef(schema string, ann string) json.RawMessage {
	d := `{"name":"svc__t","inputSchema":` + schema
	if ann != "" {
		d += `,"annotations":` + ann
	}
	return json.RawMessage(d + `}`)
}

// TestMergeServiceTool: which definition is listed and which providers
// serve it: this node's schema when it provides the tool, else the one
// most providers list, ties to the lowest node name; the others are
// mismatched. The listing names the serving nodes.
func TestMergeServiceTool(t *testing.T) {
	s1 := `{"type":"object","properties":{"q":{"type":"string"}}}`
	s1b := `{"properties":{"q":{"type":"string"}},"type":"object"}` // s1 with its keys in another order
	s2 := `{"type":"object"}`
	cand := func(node, schema string) svcCand {
		d := svcDef(schema, "")
		return svcCand{p: svcProvider{node: node}, def: d, schema: canonicalSchema(d)}
	}
	tests := []struct {
		name          string
		self          string
		cands         []svcCand
		wantProviders []string
		wantMismatch  []string
	}{
		{"all agree, keys in any order", "x", []svcCand{cand("b", s1), cand("a", s1b)}, []string{"a", "b"}, nil},
		{"local wins over the majority", "c", []svcCand{cand("a", s1), cand("b", s1), cand("c", s2)}, []string{"c"}, []string{"a", "b"}},
		{"majority", "x", []svcCand{cand("a", s2), cand("b", s1), cand("c", s1)}, []string{"b", "c"}, []string{"a"}},
		{"tie to the lowest node", "x", []svcCand{cand("b", s2), cand("a", s1)}, []string{"a"}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, mis := mergeTool(tt.self, "svc", "svc__t", tt.cands)
			var got, gotMis []string
			for _, p := range st.providers {
				got = append(got, p.node)
			}
			for _, c := range mis {
				gotMis = append(gotMis, c.p.node)
			}
			if !slices.Equal(got, tt.wantProviders) || !slices.Equal(gotMis, tt.wantMismatch) {
				t.Fatalf("providers %v, mismatched %v; want %v, %v", got, gotMis, tt.wantProviders, tt.wantMismatch)
			}
			var listed struct {
				Meta map[string]any `json:"_meta"`
			}
			if err := json.Unmarshal(st.def, &listed); err != nil {
				t.Fatal(err)
			}
			if ps, _ := json.Marshal(listed.Meta[MetaProviders]); string(ps) != mustJSON(t, tt.wantProviders) {
				t.Fatalf("_meta providers = %s, want %v", ps, tt.wantProviders)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRetryable: only readOnlyHint or idempotentHint true lets a sent call
// run again elsewhere.
func TestRetryable(t *testing.T) {
	for ann, want := range map[string]bool{
		"": false, `{"readOnlyHint":true}`: true, `{"idempotentHint":true}`: true,
		`{"readOnlyHint":false,"idempotentHint":false}`: false, `{"destructiveHint":true}`: false, `{"readOnlyHint":"true"}`: false,
	} {
		if got := retryable(svcDef(`{}`, ann)); got != want {
			t.Errorf("retryable(%s) = %v, want %v", ann, got, want)
		}
	}
}

// TestHealthDigest: the digest fits node meta with many services, says
// which are down when the receiver knows the same names, and nothing when
// it does not.
func TestHealthDigest(t *testing.T) {
	var states []mcp.ServiceState
	for i := range 300 {
		n := string(rune('a'+i%26)) + string(rune('a'+i/26))
		states = append(states, mcp.ServiceState{Service: n, Up: i%3 != 0, Listed: true})
	}
	d := HealthDigest(states)
	if len(d) > 20 {
		t.Fatalf("digest of %d services is %d bytes, over the meta bound of 20", len(states), len(d))
	}
	small := []mcp.ServiceState{{Service: "b", Up: false, Listed: true}, {Service: "a", Up: true, Listed: true}, {Service: "z", Listed: false}}
	ds := HealthDigest(small)
	if !healthSaysDown(ds, []string{"a", "b"}, "b") || healthSaysDown(ds, []string{"a", "b"}, "a") {
		t.Fatalf("digest %x: want b down, a up", ds)
	}
	if healthSaysDown(ds, []string{"b"}, "b") {
		t.Fatal("a receiver with other names must not read the bitmap")
	}
	if healthSaysDown("", []string{"b"}, "b") || HealthDigest(nil) != "" {
		t.Fatal("no digest says nothing")
	}
}
