package cluster

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// testRegistry is a registry on a memstore that records its broadcasts.
type testRegistry struct {
	*Registry
	sent [][]byte
}

func newTestRegistry(t *testing.T, self string) *testRegistry {
	t.Helper()
	r, err := NewRegistry(self, memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRegistry{Registry: r}
	r.broadcast = func(_ string, msg []byte) { tr.sent = append(tr.sent, msg) }
	return tr
}

func peer(name, member string) PeerRecord {
	return PeerRecord{Name: name, Member: member, URL: "http://127.0.0.1:8001", TrustLevel: TrustFull}
}

func TestRegistryRefusesBadWrites(t *testing.T) {
	tests := []struct {
		name  string
		write func(r *Registry) error
		want  error
		text  string
	}{
		{"bad name", func(r *Registry) error { _, err := r.Put(peer("Gateway_B", "m")); return err }, ErrInvalid, "name"},
		{"long name", func(r *Registry) error { _, err := r.Put(peer(strings.Repeat("a", 33), "m")); return err }, ErrInvalid, "1-32"},
		{"empty name", func(r *Registry) error { _, err := r.Put(peer("", "m")); return err }, ErrInvalid, "name"},
		{"bad member", func(r *Registry) error { _, err := r.Put(peer("b", "")); return err }, ErrInvalid, "member"},
		{"bad trust", func(r *Registry) error { p := peer("b", "m"); p.TrustLevel = "root"; _, err := r.Put(p); return err }, ErrInvalid, "trust level"},
		{"bad url", func(r *Registry) error { p := peer("b", "m"); p.URL = "ftp://x"; _, err := r.Put(p); return err }, ErrInvalid, "url"},
		{"long url", func(r *Registry) error {
			p := peer("b", "m")
			p.URL = "http://x/" + strings.Repeat("a", MaxPeerURL)
			_, err := r.Put(p)
			return err
		}, ErrInvalid, "url is"},
		{"name taken", func(r *Registry) error { _, err := r.Add(peer("existing", "other")); return err }, ErrNameTaken, "existing"},
		{"member taken", func(r *Registry) error { _, err := r.Put(peer("new", "m-existing")); return err }, ErrMemberTaken, "m-existing"},
		{"set trust of absent", func(r *Registry) error { _, err := r.SetTrust("absent", TrustNone); return err }, ErrNotFound, "absent"},
		{"set bad trust", func(r *Registry) error { _, err := r.SetTrust("existing", "all"); return err }, ErrInvalid, "trust level"},
		{"delete absent", func(r *Registry) error { return r.Delete("absent") }, ErrNotFound, "absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, "n1")
			if _, err := r.Put(peer("existing", "m-existing")); err != nil {
				t.Fatal(err)
			}
			before, sent := r.Digest(), len(r.sent)
			err := tt.write(r.Registry)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error = %v, want %v mentioning %q", err, tt.want, tt.text)
			}
			if r.Digest() != before || len(r.sent) != sent {
				t.Fatal("a refused write changed the registry or was broadcast")
			}
		})
	}
}

func TestRegistryWrites(t *testing.T) {
	r := newTestRegistry(t, "n1")
	added, err := r.Add(peer("gateway-b", "node-b"))
	if err != nil {
		t.Fatal(err)
	}
	if added.Writer != "n1" || added.Version.IsZero() || added.CreatedAt.IsZero() || added.CreatedAt != added.UpdatedAt {
		t.Fatalf("Add did not stamp the record: %+v", added)
	}
	changed, err := r.SetTrust("gateway-b", TrustDiscover)
	if err != nil {
		t.Fatal(err)
	}
	if changed.TrustLevel != TrustDiscover || changed.Version.Compare(added.Version) <= 0 || !changed.CreatedAt.Equal(added.CreatedAt) {
		t.Fatalf("SetTrust: %+v (was %+v)", changed, added)
	}
	if got, ok := r.ByMember("node-b"); !ok || got.Name != "gateway-b" {
		t.Fatalf("ByMember = %+v, %v", got, ok)
	}
	if err := r.Delete("gateway-b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("gateway-b"); ok || len(r.List()) != 0 || len(r.All()) != 1 || !r.All()[0].Deleted {
		t.Fatalf("after Delete: List %v, All %v", r.List(), r.All())
	}
	if _, err := r.Add(peer("gateway-b", "node-b")); err != nil {
		t.Fatalf("re-adding a deleted name: %v", err)
	}
	if len(r.sent) != 4 {
		t.Fatalf("%d broadcasts, want one per write (4)", len(r.sent))
	}
}

func TestRegistryWriteFailsWhenStoreFails(t *testing.T) {
	st := memstore.New()
	r, err := NewRegistry("n1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := r.Digest()
	_ = st.Close()
	if _, err := r.Put(peer("b", "m")); err == nil || !strings.Contains(err.Error(), "persist peer") {
		t.Fatalf("Put on a closed store: %v", err)
	}
	if r.Digest() != before || len(r.All()) != 0 {
		t.Fatal("a write that was not persisted changed the registry")
	}
}

func TestRegistryLoadsFromStore(t *testing.T) {
	st := memstore.New()
	r1, _ := NewRegistry("n1", st, nil)
	for i := range 3 {
		if _, err := r1.Put(peer(fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r1.Delete("p1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(registryPrefix+"junk", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	r2, err := NewRegistry("n1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Digest() != r1.Digest() {
		t.Fatalf("reloaded registry differs: %v vs %v", r2.All(), r1.All())
	}
	rec, _ := r2.Put(peer("p9", "m9"))
	if last := r1.All()[len(r1.All())-2]; rec.Version.Compare(last.Version) <= 0 {
		t.Fatalf("clock went back after reload: %v <= %v", rec.Version, last.Version)
	}
}

func TestRegistryMergesAndRebroadcastsOnce(t *testing.T) {
	a, b := newTestRegistry(t, "a"), newTestRegistry(t, "b")
	if _, err := a.Put(peer("p", "m")); err != nil {
		t.Fatal(err)
	}
	msg := a.sent[0]
	b.receiveMsg(msg)
	b.receiveMsg(msg)
	if len(b.sent) != 1 || b.Digest() != a.Digest() {
		t.Fatalf("receiver re-broadcast %d times (want 1), digests %s vs %s", len(b.sent), b.Digest(), a.Digest())
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	if v, err := b.st.Get(registryPrefix + "p"); err != nil || len(v) == 0 {
		t.Fatalf("merged record not persisted by flush: %v", err)
	}
}

func TestRegistryRefusesRecordsFromTheFuture(t *testing.T) {
	a, b := newTestRegistry(t, "a"), newTestRegistry(t, "b")
	ft := &fakeTime{t: time.Now().Add(time.Hour)}
	a.setNow(ft.now)
	if _, err := a.Put(peer("p", "m")); err != nil {
		t.Fatal(err)
	}
	b.receiveMsg(a.sent[0])
	if len(b.All()) != 0 {
		t.Fatal("a record an hour in the future was merged")
	}
}

func TestRegistryCollectsExpiredTombstones(t *testing.T) {
	r := newTestRegistry(t, "a")
	ft := &fakeTime{t: time.Now()}
	r.setNow(ft.now)
	if _, err := r.Put(peer("p", "m")); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete("p"); err != nil {
		t.Fatal(err)
	}
	old := r.sent[len(r.sent)-1]
	ft.t = ft.t.Add(r.tombTTL + time.Hour)
	r.collectTombstones()
	if len(r.All()) != 0 {
		t.Fatalf("expired tombstone kept: %v", r.All())
	}
	if err := r.flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Get(registryPrefix + "p"); err == nil {
		t.Fatal("expired tombstone still in the store")
	}
	r.receiveMsg(old)
	if len(r.All()) != 0 {
		t.Fatal("an expired tombstone came back from gossip")
	}
}

// TestRegistryOneRecordPerMember: node a accepts c-one for member c, node
// b (not having heard of it) c-two a moment later. Once each hears the
// other's write, both keep only c-two; c-one is a tombstone, persisted and
// reported as a change, and a third record for c is still refused locally.
func TestRegistryOneRecordPerMember(t *testing.T) {
	a, b := newTestRegistry(t, "node-a"), newTestRegistry(t, "node-b")
	var reported []PeerRecord
	a.changed = func(rec PeerRecord) { reported = append(reported, rec) }
	if _, err := a.Add(peer("c-one", "c")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(peer("c-two", "c")); err != nil { // later, or as late and node-b > node-a
		t.Fatal(err)
	}
	reported = nil
	b.receiveMsg(a.sent[0])
	a.receiveMsg(b.sent[0])
	for _, r := range []*testRegistry{a, b} {
		list := r.List()
		if len(list) != 1 || list[0].Name != "c-two" {
			t.Fatalf("%s lists %+v; want only c-two", r.self, list)
		}
		if got, ok := r.ByMember("c"); !ok || got.Name != "c-two" {
			t.Fatalf("%s: ByMember(c) = %+v, %v; want c-two", r.self, got, ok)
		}
		if _, ok := r.Get("c-one"); ok {
			t.Fatalf("%s still has c-one live", r.self)
		}
		if _, err := r.Add(peer("c-three", "c")); !errors.Is(err, ErrMemberTaken) {
			t.Fatalf("%s: a third record for c: %v; want ErrMemberTaken", r.self, err)
		}
	}
	if a.Digest() != b.Digest() {
		t.Fatalf("digests differ: %v vs %v", a.All(), b.All())
	}
	if len(reported) != 2 || reported[0].Name != "c-one" || !reported[0].Deleted || reported[1].Name != "c-two" {
		t.Fatalf("a reported %+v; want c-one's tombstone and c-two", reported)
	}
	if err := a.flush(); err != nil {
		t.Fatal(err)
	}
	stored, err := a.st.Get(registryPrefix + "c-one")
	if rec, derr := decodeRecord(stored); err != nil || derr != nil || !rec.Deleted {
		t.Fatalf("c-one's tombstone not persisted: %s, %v", stored, err)
	}
}

// TestRegistryLoadSettles: a store written before records were settled
// (two live records for one member) loads with one.
func TestRegistryLoadSettles(t *testing.T) {
	st := memstore.New()
	for i, name := range []string{"c-one", "c-two"} {
		rec := peer(name, "c")
		rec.Writer, rec.Version = "n1", HLC{Wall: time.Now().UnixMilli() + int64(i)}
		rec.CreatedAt, rec.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond), time.Now().UTC().Truncate(time.Millisecond)
		if err := st.Put(registryPrefix+name, rec.canonical()); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewRegistry("n1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if list := r.List(); len(list) != 1 || list[0].Name != "c-two" {
		t.Fatalf("loaded %+v; want only c-two live", list)
	}
}
