package mcp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var alice = Principal{Issuer: "https://idp.test", Subject: "alice"}

// TestRequestStateOpen: a sealed state opens, for the request it was
// sealed for, to its inner state, within its time, on any Server with the
// same key; anything else is refused, saying why.
func TestRequestStateOpen(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	ss := newStateSealer(StateKey([]byte("ring secret")), time.Minute)
	ss.now = func() time.Time { return now }
	sealed := ss.seal(sealedState{Inner: "mcpmesh-held:7", Method: "tools/call", Name: "ask"})
	alices := ss.seal(sealedState{Inner: "x", Method: "tools/call", Name: "ask", Issuer: alice.Issuer, Subject: alice.Subject})
	other := newStateSealer(StateKey([]byte("another ring")), time.Minute)
	tests := []struct {
		name, state, method, reqName string
		p                            Principal
		after                        time.Duration
		want, why                    string
	}{
		{"opens", sealed, "tools/call", "ask", Principal{}, 0, "mcpmesh-held:7", ""},
		{"opens on a node with the same key", sealed, "tools/call", "ask", Principal{}, 0, "mcpmesh-held:7", ""},
		{"opens for its principal", alices, "tools/call", "ask", alice, 59 * time.Second, "x", ""},
		{"expired", sealed, "tools/call", "ask", Principal{}, 2 * time.Minute, "", "expired"},
		{"another principal", alices, "tools/call", "ask", Principal{Subject: "alice"}, 0, "", "another caller"},
		{"anonymous for a principal's", sealed, "tools/call", "ask", alice, 0, "", "another caller"},
		{"another tool", sealed, "tools/call", "tell", Principal{}, 0, "", `not for tools/call "tell"`},
		{"another method", sealed, "prompts/get", "ask", Principal{}, 0, "", `issued for tools/call "ask"`},
		{"payload altered", flip(sealed, len(statePrefix)+3), "tools/call", "ask", Principal{}, 0, "", "altered"},
		{"mac altered", flip(sealed, len(sealed)-2), "tools/call", "ask", Principal{}, 0, "", "altered"},
		{"sealed by another ring", other.seal(sealedState{Method: "tools/call", Name: "ask"}), "tools/call", "ask", Principal{}, 0, "", "another ring"},
		{"not sealed", "mcpmesh-held:7", "tools/call", "ask", Principal{}, 0, "", "format"},
		{"empty", "", "tools/call", "ask", Principal{}, 0, "", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener := newStateSealer(StateKey([]byte("ring secret")), time.Minute)
			opener.now = func() time.Time { return now.Add(tt.after) }
			got, err := opener.open(tt.state, tt.method, tt.reqName, tt.p)
			switch {
			case tt.why == "" && (err != nil || got != tt.want):
				t.Errorf("open = %q, %v; want %q", got, err, tt.want)
			case tt.why != "" && (err == nil || !strings.Contains(err.Error(), tt.why)):
				t.Errorf("open = %q, %v; want an error saying %q", got, err, tt.why)
			}
		})
	}
}

// flip changes the character at i of s.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestRequestStateKeyDerived: the state key is derived from the secret,
// the same for the same secret, and is not the secret.
func TestRequestStateKeyDerived(t *testing.T) {
	a, b := StateKey([]byte("s1")), StateKey([]byte("s1"))
	if string(a) != string(b) || string(StateKey([]byte("s2"))) == string(a) || string(a) == "s1" || len(a) != 32 {
		t.Errorf("StateKey: %x %x", a, b)
	}
}

// FuzzRequestState: whatever string comes back as requestState, opening it
// does not panic, and only a state this key sealed opens; a sealed state
// opens to its inner state whatever that holds.
func FuzzRequestState(f *testing.F) {
	ss := newStateSealer([]byte("fuzz key"), time.Minute)
	good := ss.seal(sealedState{Inner: "in", Method: "tools/call", Name: "n"})
	for _, s := range []string{good, "", statePrefix, statePrefix + ".", statePrefix + "e30.", good + "x",
		flip(good, 12), statePrefix + "!!!.AAAA", "mcpmesh2." + good[len(statePrefix):]} {
		f.Add(s, "in")
	}
	f.Fuzz(func(t *testing.T, state, inner string) {
		if got, err := ss.open(state, "tools/call", "n", Principal{}); err == nil && (state != good || got != "in") {
			t.Fatalf("open(%q) = %q: a state this key did not seal opened", state, got)
		}
		params, _ := json.Marshal(map[string]string{"name": "n", "requestState": state})
		out, err := ss.openParams(context.Background(), &Message{Method: "tools/call"}, params)
		if err == nil && (state != good || !strings.Contains(string(out), `"requestState":"in"`)) {
			t.Fatalf("openParams(%s) = %s: a state this key did not seal opened", params, out)
		}
		if e, ok := err.(*Error); err != nil && (!ok || e.Code != CodeInvalidParams || !strings.HasPrefix(e.Message, "invalid requestState: ")) {
			t.Fatalf("openParams(%s): %v, want -32602 invalid requestState", params, err)
		}
		if !utf8.ValidString(state) || !utf8.ValidString(inner) {
			return // a request's name and an inner state come from JSON: valid UTF-8
		}
		sealed := ss.seal(sealedState{Inner: inner, Method: "resources/read", Name: state})
		if got, err := ss.open(sealed, "resources/read", state, Principal{}); err != nil || got != inner {
			t.Fatalf("open(seal(%q)) = %q, %v", inner, got, err)
		}
	})
}
