package cluster

import (
	"encoding/json"
	"strings"
	"testing"
)

// notice encodes a refusal notice as a node sends it.
func notice(r refusal) []byte {
	b, _ := json.Marshal(r)
	return append([]byte{msgRefused}, b...)
}

// TestRefusalNotice: only a notice about this node's own name and id, from
// a node holding the name for another id, marks it refused.
func TestRefusalNotice(t *testing.T) {
	const other = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name    string
		msg     func(n *Node) []byte
		refused bool
	}{
		{"about this node", func(n *Node) []byte { return notice(refusal{Name: "fuzz", ID: n.ID(), KnownID: other, By: "x"}) }, true},
		{"another name", func(n *Node) []byte { return notice(refusal{Name: "someone", ID: n.ID(), KnownID: other}) }, false},
		{"another id", func(n *Node) []byte { return notice(refusal{Name: "fuzz", ID: other, KnownID: n.ID()}) }, false},
		{"held for this id", func(n *Node) []byte { return notice(refusal{Name: "fuzz", ID: n.ID(), KnownID: n.ID()}) }, false},
		{"not JSON", func(*Node) []byte { return []byte{msgRefused, '{'} }, false},
		{"empty", func(*Node) []byte { return []byte{msgRefused} }, false},
		{"huge", func(n *Node) []byte {
			return notice(refusal{Name: "fuzz", ID: n.ID(), KnownID: other, By: strings.Repeat("b", 2000)})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := offlineNode(t)
			(&delegate{n: n}).NotifyMsg(tc.msg(n))
			if got := n.Refused() != nil; got != tc.refused {
				t.Fatalf("refused %v (%v), want %v", got, n.Refused(), tc.refused)
			}
			if len(n.reg.All()) != 0 {
				t.Fatal("a notice wrote to the registry")
			}
		})
	}
}

// FuzzRefusalNotice: no refusal notice panics a node, and only one naming
// its own name and id refuses it.
func FuzzRefusalNotice(f *testing.F) {
	n := offlineNode(f)
	for _, seed := range []string{`{}`, `{"name":"fuzz"}`, `{"name":"fuzz","id":5}`, `[`, `null`,
		`{"name":"fuzz","id":"` + n.ID() + `","known_id":"x"}`, strings.Repeat(`{"a":`, 1000)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := offlineNode(t)
		m.ident.id = n.ID() // the same id as the seeds name
		(&delegate{n: m}).NotifyMsg(append([]byte{msgRefused}, body...))
		if err := m.Refused(); err != nil {
			var r refusal
			if json.Unmarshal(body, &r) != nil || r.Name != "fuzz" || r.ID != n.ID() || r.KnownID == n.ID() {
				t.Fatalf("refused by %q: %v", body, err)
			}
		}
	})
}
