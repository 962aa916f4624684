package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// sse is one open GET /api/events stream, its events read into a channel
// (closed when the stream ends).
type sse struct {
	events chan sseEvent
}

// openEvents opens /api/events on n with token and fails unless it is a
// 200 event stream.
func openEvents(t testing.TB, n *fedNode, token string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /api/events: %v", err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /api/events: status %d, Content-Type %q; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{events: make(chan sseEvent, 1024)}
	go s.read(bufio.NewScanner(resp.Body))
	return s
}

// waitEnded waits for the stream to end (events read meanwhile are
// dropped); when says what should have ended it.
func (s *sse) waitEnded(t testing.TB, when string) {
	t.Helper()
	wait.For(t, 10*time.Second, func() bool {
		select {
		case _, open := <-s.events:
			return !open
		default:
			return false
		}
	}, "waiting for the events stream to end %s", when)
}

func (s *sse) read(sc *bufio.Scanner) {
	defer close(s.events)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	var e sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			e.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e.data = []byte(strings.TrimPrefix(line, "data: "))
		case line == "" && e.name != "":
			s.events <- e
			e = sseEvent{}
		}
	}
}

// next waits for the next event named name whose data satisfies ok,
// skipping others; it fails the test after timeout or at the stream's end.
func (s *sse) next(t testing.TB, name string, ok func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, open := <-s.events:
			if !open {
				t.Fatalf("the stream ended before a %q event", name)
			}
			if e.name == name && ok(e.data) {
				return e.data
			}
		case <-deadline:
			t.Fatalf("no %q event as wanted within 10s", name)
		}
	}
}

// each waits, in any order, for an event of each name satisfying its test.
func (s *sse) each(t testing.TB, want map[string]func([]byte) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case e, open := <-s.events:
			if !open {
				t.Fatalf("the stream ended still waiting for %d events", len(want))
			}
			if ok := want[e.name]; ok != nil && ok(e.data) {
				delete(want, e.name)
			}
		case <-deadline:
			t.Fatalf("no events as wanted within 10s: still waiting for %v", slices.Collect(maps.Keys(want)))
		}
	}
}

func any_([]byte) bool { return true }

func TestEventsAuth(t *testing.T) {
	n := startFedNode(t, "ev-auth")
	for _, tc := range []struct {
		name, token string
		code        int
		want        string
	}{
		{"no token", "", http.StatusUnauthorized, "missing authorization header"},
		{"bad token", "not-a-jwt", http.StatusUnauthorized, "malformed"},
		{"mcp scope", mint(t, testSecret, ScopeMCP), http.StatusForbidden, "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, http.MethodGet, "/api/events", tc.token, "")
			if r.code != tc.code || !strings.Contains(strings.ToLower(r.errorText(t)), tc.want) {
				t.Fatalf("GET /api/events with %s: %d %s; want %d naming %q", tc.name, r.code, r.body, tc.code, tc.want)
			}
		})
	}
	t.Run("admin", func(t *testing.T) {
		var snap snapshot
		if err := json.Unmarshal(openEvents(t, n, n.admin).next(t, "snapshot", any_), &snap); err != nil {
			t.Fatal(err)
		}
		if snap.Node != "ev-auth" || len(snap.Members) != 1 || !snap.Members[0].Self || len(snap.Tools) == 0 {
			t.Fatalf("snapshot: node %q, members %+v, %d tools; want ev-auth alone with its demo tools", snap.Node, snap.Members, len(snap.Tools))
		}
	})
}

// TestEventsStream: after the snapshot, a peer added on the node arrives
// as a member join, a peers change and a tools change; a trust change as
// a peers change; a forwarded call in the next second's call counters.
func TestEventsStream(t *testing.T) {
	a, b := startFedNode(t, "ev-a"), startFedNode(t, "ev-b")
	s := openEvents(t, a, a.admin)
	s.next(t, "snapshot", any_)
	addFedPeer(t, a, b, "b", "full")
	s.each(t, map[string]func([]byte) bool{
		"member": func(d []byte) bool { return memberEvent(d, "join", "ev-b", "alive") },
		"peers":  func(d []byte) bool { return peerTrust(d, "b") == "full" },
		"tools":  func(d []byte) bool { return strings.Contains(string(d), `"b__echo"`) },
	})
	if res := a.call(t, "b__whoami"); res.text() != "ev-b" {
		t.Fatalf("b__whoami on ev-a answered %q, want ev-b", res.text())
	}
	s.next(t, "calls", func(d []byte) bool { return callsOf(d, "b", "peer") > 0 })
	if r := a.do(t, http.MethodPatch, "/api/federation/peers/b", a.admin, `{"trust_level":"discover"}`); r.code != http.StatusOK {
		t.Fatalf("PATCH trust: %d %s", r.code, r.body)
	}
	s.next(t, "peers", func(d []byte) bool { return peerTrust(d, "b") == "discover" })
}

func memberEvent(d []byte, change, name, state string) bool {
	var c memberChange
	return json.Unmarshal(d, &c) == nil && c.Change == change && c.Member.Name == name && c.Member.Status == state
}

func peerTrust(d []byte, name string) string {
	var ps []api.Peer
	_ = json.Unmarshal(d, &ps)
	if i := slices.IndexFunc(ps, func(p api.Peer) bool { return p.Name == name }); i >= 0 {
		return ps[i].TrustLevel
	}
	return ""
}

func callsOf(d []byte, name, kind string) int {
	var s callSample
	_ = json.Unmarshal(d, &s)
	for _, x := range s.Series {
		if x.Name == name && x.Kind == kind {
			return x.Calls
		}
	}
	return 0
}

// TestEventsTokenExpiryEndsStream: a stream ends when its token expires,
// so that the page asks again and is sent back to its login box.
func TestEventsTokenExpiryEndsStream(t *testing.T) {
	n := startFedNode(t, "ev-exp")
	tok, err := MintToken([]byte(testSecret), "tester@example.com", ScopeAdmin, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := openEvents(t, n, tok)
	s.next(t, "snapshot", any_)
	s.waitEnded(t, "when its token expired")
	if r := n.do(t, http.MethodGet, "/api/events", tok, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("GET /api/events with the expired token: %d, want 401", r.code)
	}
}

// TestEventsDrainEndsStreams: a drained node ends its event streams and
// refuses new ones.
func TestEventsDrainEndsStreams(t *testing.T) {
	n := startFedNode(t, "ev-drain")
	s := openEvents(t, n, n.admin)
	s.next(t, "snapshot", any_)
	go n.gw.Drain(context.Background())
	s.waitEnded(t, "when the node drained")
	if r := n.do(t, http.MethodGet, "/api/events", n.admin, ""); r.code != http.StatusServiceUnavailable {
		t.Fatalf("GET /api/events on a drained node: %d, want 503", r.code)
	}
}

// TestEventHubDropsSlowSubscriber: a subscriber that stops reading is
// dropped once its queue is full (its channel closed), not buffered for;
// one that reads gets every event.
func TestEventHubDropsSlowSubscriber(t *testing.T) {
	h := newEventHub(func() *uiState { return &uiState{Node: "n"} }, func(string) string { return "local" })
	slow, _ := h.subscribe()
	fast, _ := h.subscribe()
	got := 0
	read := func() { // the fast subscriber reads all that is queued
		for {
			select {
			case <-fast.ch:
				got++
			default:
				return
			}
		}
	}
	read()
	for i := range 3 * subscriberQueue {
		h.mu.Lock()
		h.sendLocked(newEvent("calls", callSample{T: int64(i)}))
		h.mu.Unlock()
		read()
	}
	n := 0
	for range slow.ch { // closed: ranging ends after what was queued
		n++
	}
	h.mu.Lock()
	dropped := h.dropped
	h.mu.Unlock()
	if n != subscriberQueue || dropped != 1 {
		t.Fatalf("slow subscriber: %d events queued, %d dropped; want %d queued then dropped once", n, dropped, subscriberQueue)
	}
	if got != 1+3*subscriberQueue {
		t.Fatalf("fast subscriber got %d events, want all %d", got, 1+3*subscriberQueue)
	}
	h.close()
	if _, open := <-fast.ch; open {
		t.Fatal("close left the fast subscriber's stream open")
	}
}

func TestCallRecorder(t *testing.T) {
	r := newCallRecorder()
	for i := 1; i <= 100; i++ {
		r.record("b", time.Duration(i)*time.Millisecond, i%10 == 0)
	}
	s := r.roll(time.Unix(10, 0), func(string) string { return "peer" })
	want := callSeries{Kind: "peer", Name: "b", Calls: 100, Errors: 10, P50: 50, P99: 99}
	if len(s.Series) != 1 || s.Series[0] != want {
		t.Fatalf("a second of 100 calls: %+v, want %+v", s.Series, want)
	}
	for i := range maxCallSources + 5 {
		r.record(fmt.Sprintf("src-%d", i), time.Millisecond, false)
	}
	if s := r.roll(time.Unix(11, 0), func(string) string { return "other" }); len(s.Series) != maxCallSources+1 {
		t.Fatalf("%d sources in a second: %d series, want %d and (other)", maxCallSources+5, len(s.Series), maxCallSources)
	}
	for i := range callHistory + 10 {
		r.roll(time.Unix(int64(20+i), 0), func(string) string { return "" })
	}
	if h := r.samples(); len(h) != callHistory || h[len(h)-1].T != time.Unix(int64(20+callHistory+9), 0).UnixMilli() {
		t.Fatalf("history: %d samples, want the last %d", len(h), callHistory)
	}
}

func TestMemberChanges(t *testing.T) {
	m := func(name, status, version string) api.Member {
		return api.Member{Name: name, Status: status, Version: version}
	}
	for _, tc := range []struct {
		name      string
		prev, cur []api.Member
		want      []string // change:name[:from]
	}{
		{"none", []api.Member{m("a", "alive", "1")}, []api.Member{m("a", "alive", "1")}, nil},
		{"join", nil, []api.Member{m("a", "alive", "1")}, []string{"join:a"}},
		{"suspect", []api.Member{m("a", "alive", "1")}, []api.Member{m("a", "suspect", "1")}, []string{"state:a:alive"}},
		{"dead", []api.Member{m("a", "suspect", "1")}, []api.Member{m("a", "dead", "1")}, []string{"state:a:suspect"}},
		{"update", []api.Member{m("a", "alive", "1")}, []api.Member{m("a", "alive", "2")}, []string{"update:a"}},
		{"reaped", []api.Member{m("a", "alive", "1"), m("b", "dead", "1")}, []api.Member{m("a", "alive", "1")}, []string{"leave:b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range memberChanges(tc.prev, tc.cur) {
				s := c.Change + ":" + c.Member.Name
				if c.From != "" {
					s += ":" + c.From
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("changes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEventsServiceCalls: a service registered on the node arrives as a
// services and a tools change, and its calls are counted under the
// service, of kind service.
func TestEventsServiceCalls(t *testing.T) {
	up := startUpstream(t, "greet") // closed after the node
	n := startFedNode(t, "ev-svc")
	s := openEvents(t, n, n.admin)
	s.next(t, "snapshot", any_)
	registerOn(t, n, `{"name":"up","url":"`+up+`","service":"svc"}`)
	s.each(t, map[string]func([]byte) bool{
		"services": func(d []byte) bool { return strings.Contains(string(d), `"name":"svc"`) },
		"tools":    func(d []byte) bool { return strings.Contains(string(d), `"svc__greet"`) },
	})
	if res := n.call(t, "svc__greet"); !strings.HasPrefix(res.text(), "greet:") {
		t.Fatalf("svc__greet answered %q", res.text())
	}
	s.next(t, "calls", func(d []byte) bool { return callsOf(d, "svc", "service") == 1 })
}
