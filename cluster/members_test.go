package cluster

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mcpmesh/mcpmesh/store/memstore"
)

func mlNode(name string, port uint16) *memberlist.Node {
	return &memberlist.Node{Name: name, Addr: net.ParseIP("127.0.0.1"), Port: port}
}

func newTestTable(snapshot map[string]string) (*memberTable, *fakeTime) {
	ft := &fakeTime{t: time.Unix(1_700_000_000, 0)}
	tb := newMemberTable("self", snapshot)
	tb.now = ft.now
	return tb, ft
}

func TestMemberTableLifecycle(t *testing.T) {
	tb, ft := newTestTable(map[string]string{})
	steps := []struct {
		name  string
		do    func() []Event
		event EventType
		state string
	}{
		{"join", func() []Event { return tb.alive(mlNode("a", 1), NodeMeta{URL: "u1"}, false) }, MemberJoin, StateAlive},
		{"same again", func() []Event { return tb.alive(mlNode("a", 1), NodeMeta{URL: "u1"}, false) }, 0, StateAlive},
		{"meta change", func() []Event { return tb.alive(mlNode("a", 1), NodeMeta{URL: "u2"}, false) }, MemberUpdate, StateAlive},
		{"suspect", func() []Event { return tb.suspect("a") }, MemberSuspect, StateSuspect},
		{"suspect expires", func() []Event { ft.t = ft.t.Add(time.Minute); return tb.expireSuspects(time.Second) }, MemberUpdate, StateAlive},
		{"dies", func() []Event { return tb.down(mlNode("a", 1), false) }, MemberFailed, StateDead},
		{"comes back", func() []Event { return tb.alive(mlNode("a", 1), NodeMeta{URL: "u2"}, false) }, MemberJoin, StateAlive},
		{"leaves", func() []Event { return tb.down(mlNode("a", 1), true) }, MemberLeft, StateLeft},
		{"reaped", func() []Event { ft.t = ft.t.Add(2 * time.Hour); return tb.reap(3*time.Hour, time.Hour) }, MemberReaped, ""},
	}
	for _, s := range steps {
		evs := s.do()
		switch {
		case s.event == 0 && len(evs) != 0:
			t.Fatalf("%s: unexpected events %v", s.name, evs)
		case s.event != 0 && (len(evs) != 1 || evs[0].Type != s.event):
			t.Fatalf("%s: events %v, want one %v", s.name, evs, s.event)
		}
		if m, _ := tb.get("a"); m.State != s.state {
			t.Fatalf("%s: state %q, want %q", s.name, m.State, s.state)
		}
	}
	if _, ok := tb.snapshot["a"]; ok {
		t.Fatal("a member that left is still in the snapshot")
	}
}

func TestRejoinAddrs(t *testing.T) {
	tb, ft := newTestTable(map[string]string{"old": "127.0.0.1:7", "self": "127.0.0.1:1"})
	tb.alive(mlNode("up", 2), NodeMeta{}, false)
	tb.alive(mlNode("dead", 3), NodeMeta{}, false)
	tb.down(mlNode("dead", 3), false)
	tb.alive(mlNode("gone", 4), NodeMeta{}, false)
	tb.down(mlNode("gone", 4), true)
	tb.conflict("dead", "127.0.0.1:33")
	up := map[string]bool{"up": true, "self": true}
	if got, want := tb.rejoinAddrs(up, time.Second), []string{"127.0.0.1:3", "127.0.0.1:7"}; !slices.Equal(got, want) {
		t.Fatalf("rejoinAddrs = %v, want %v (no conflict address before reclaim)", got, want)
	}
	ft.t = ft.t.Add(2 * time.Second)
	if !tb.conflictReady(time.Second) {
		t.Fatal("conflict not ready after reclaim time")
	}
	if got := tb.rejoinAddrs(up, time.Second); !slices.Contains(got, "127.0.0.1:33") {
		t.Fatalf("rejoinAddrs = %v, want the conflicting address after reclaim", got)
	}
	if tb.conflictReady(time.Second) {
		t.Fatal("a conflict address is tried once")
	}
	if got, want := tb.knownAddrs(), []string{"127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:7"}; !slices.Equal(got, want) {
		t.Fatalf("knownAddrs = %v, want %v", got, want)
	}
}

func TestSnapshotPersists(t *testing.T) {
	st := memstore.New()
	tb, _ := newTestTable(map[string]string{})
	tb.alive(mlNode("a", 1), NodeMeta{}, false)
	tb.alive(mlNode("b", 2), NodeMeta{}, false)
	tb.down(mlNode("b", 2), true)
	if err := tb.flush(st); err != nil {
		t.Fatal(err)
	}
	_ = st.Put(membersPrefix+"junk", []byte("{"))
	_ = st.Put(membersPrefix+"bad-addr", []byte(`{"addr":"nowhere"}`))
	got, err := loadSnapshot(st, "self")
	if err != nil || len(got) != 1 || got["a"] != "127.0.0.1:1" {
		t.Fatalf("loadSnapshot = %v, %v; want only a", got, err)
	}
}

// TestSnapshotKeepsNodeIDs: a member's node id is persisted with its
// address, so a restarted node still binds its name to that id.
func TestSnapshotKeepsNodeIDs(t *testing.T) {
	st := memstore.New()
	const id = "0123456789abcdef0123456789abcdef"
	tb, _ := newTestTable(map[string]string{})
	tb.alive(mlNode("a", 1), NodeMeta{ID: id}, false)
	tb.down(mlNode("a", 1), false) // a crash: remembered
	tb.alive(mlNode("b", 2), NodeMeta{ID: "fedcba9876543210fedcba9876543210"}, false)
	tb.down(mlNode("b", 2), true) // left: forgotten
	if err := tb.flush(st); err != nil {
		t.Fatal(err)
	}
	ids, err := loadSnapshotIDs(st, "self")
	if err != nil || len(ids) != 1 || ids["a"] != id {
		t.Fatalf("loadSnapshotIDs = %v, %v; want only a's id", ids, err)
	}
	after, _ := newTestTable(map[string]string{"a": "127.0.0.1:1"})
	after.ids = ids
	if got, state := after.knownID("a"); got != id || state == "" {
		t.Fatalf("knownID(a) after a restart = %q, %q; want %s", got, state, id)
	}
}
