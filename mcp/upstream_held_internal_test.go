package mcp

import "testing"

// TestHeldStateReadsTheRetry: params name a held call by their
// requestState however the JSON spells it, and a first try (no held
// state in it) names none.
func TestHeldStateReadsTheRetry(t *testing.T) {
	cases := []struct {
		name, params, id string
		ok               bool
	}{
		{"first try", `{"name":"t","arguments":{}}`, "", false},
		{"retry", `{"name":"t","requestState":"mcpmesh-held:abc"}`, "abc", true},
		{"retry, escaped", `{"name":"t","requestState":"\u006dcpmesh-held:abc"}`, "abc", true},
		{"retry, key in another case", `{"name":"t","RequestState":"mcpmesh-held:abc"}`, "abc", true},
		{"an upstream's own state", `{"name":"t","requestState":"theirs"}`, "", false},
		{"the prefix elsewhere", `{"name":"t","arguments":{"s":"mcpmesh-held:abc"}}`, "", false},
		{"not an object", `["mcpmesh-held:abc"]`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if id, ok := heldState([]byte(c.params)); ok != c.ok || (ok && id != c.id) {
				t.Errorf("heldState(%s) = %q, %v; want %q, %v", c.params, id, ok, c.id, c.ok)
			}
		})
	}
}
