package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

func testKey(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestParseKey(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{cluster.EncodeKey(testKey(1, 32)), ""},
		{cluster.EncodeKey(testKey(1, 16)), ""},
		{" " + cluster.EncodeKey(testKey(1, 24)) + "\n", ""},
		{"", "empty"},
		{"not base64!", "base64"},
		{cluster.EncodeKey(testKey(1, 20)), "20 bytes"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := cluster.ParseKey(tc.in)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("ParseKey(%q) = %v, want error containing %q", tc.in, err, tc.err)
			}
		})
	}
}

func TestKeyringOps(t *testing.T) {
	a, b, c := clustertest.Key, testKey(2, 32), testKey(3, 16)
	enc := cluster.EncodeKey
	type step struct {
		op      func(*cluster.Node, []byte) (cluster.KeyringState, error)
		key     []byte
		err     error
		primary []byte
		keys    [][]byte
	}
	install, use, remove := (*cluster.Node).InstallKey, (*cluster.Node).UseKey, (*cluster.Node).RemoveKey
	steps := []step{
		{install, b, nil, a, [][]byte{a, b}},
		{install, b, nil, a, [][]byte{a, b}}, // idempotent
		{use, c, cluster.ErrKeyNotInstalled, a, [][]byte{a, b}},
		{remove, a, cluster.ErrPrimaryKey, a, [][]byte{a, b}},
		{install, c, nil, a, [][]byte{a, b, c}},
		{use, c, nil, c, [][]byte{c, a, b}},
		{remove, a, nil, c, [][]byte{c, b}},
		{remove, a, nil, c, [][]byte{c, b}}, // absent: no change
		{install, testKey(4, 7), errors.New("7 bytes"), c, [][]byte{c, b}},
	}
	st := memstore.New()
	n := clustertest.StartNode(t, clustertest.Config("solo", st))
	for i, s := range steps {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			before, _ := st.Get("keyring")
			got, err := s.op(n, s.key)
			checkErr(t, err, s.err)
			want := cluster.KeyringState{Primary: enc(s.primary)}
			for _, k := range s.keys {
				want.Keys = append(want.Keys, enc(k))
			}
			now, _ := n.Keyring()
			if got.Primary != want.Primary || !slices.Equal(got.Keys, want.Keys) || !slices.Equal(now.Keys, want.Keys) {
				t.Fatalf("keyring %+v (now %+v), want %+v", got, now, want)
			}
			if after, _ := st.Get("keyring"); s.err != nil && !bytes.Equal(before, after) {
				t.Fatalf("a refused op rewrote the stored keyring: %s -> %s", before, after)
			}
		})
	}
}

func checkErr(t *testing.T, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("unexpected error: %v", got)
	case want != nil && got == nil:
		t.Fatalf("no error, want %v", want)
	case want != nil && !errors.Is(got, want) && !strings.Contains(got.Error(), want.Error()):
		t.Fatalf("error %v, want %v", got, want)
	}
}

func TestKeyringUnencrypted(t *testing.T) {
	cfg := clustertest.Config("plain", memstore.New())
	cfg.SecretKey = nil
	n := clustertest.StartNode(t, cfg)
	if _, err := n.Keyring(); !errors.Is(err, cluster.ErrNotEncrypted) {
		t.Fatalf("Keyring on an unencrypted node: %v", err)
	}
	if _, err := n.InstallKey(testKey(1, 32)); !errors.Is(err, cluster.ErrNotEncrypted) {
		t.Fatalf("InstallKey on an unencrypted node: %v", err)
	}
}

// TestStoredKeyringWins: keys installed and used survive a restart, and
// win over the key the node is configured with.
func TestStoredKeyringWins(t *testing.T) {
	dir := t.TempDir()
	b := testKey(9, 32)
	st := clustertest.OpenBadger(t, dir)
	n := clustertest.StartNode(t, clustertest.Config("keeper", st))
	for _, op := range []func([]byte) (cluster.KeyringState, error){n.InstallKey, n.UseKey} {
		if _, err := op(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	again := clustertest.StartNode(t, clustertest.Config("keeper", st)) // configured with clustertest.Key
	got, _ := again.Keyring()
	want := []string{cluster.EncodeKey(b), cluster.EncodeKey(clustertest.Key)}
	if got.Primary != want[0] || !slices.Equal(got.Keys, want) {
		t.Fatalf("restarted keyring %+v, want %v", got, want)
	}
	if err := again.Shutdown(); err != nil {
		t.Fatal(err)
	}
	cfg := clustertest.Config("keeper", st)
	cfg.ResetKeyring = true
	reset := clustertest.StartNode(t, cfg)
	if got, _ := reset.Keyring(); !slices.Equal(got.Keys, want[1:]) {
		t.Fatalf("keyring after a reset %+v, want only the configured key %v", got, want[1:])
	}
	if _, err := st.Get("keyring"); err == nil {
		t.Fatal("the reset left the stored keyring in place")
	}
}

func TestCorruptStoredKeyringRefused(t *testing.T) {
	for name, val := range map[string]string{"json": "{", "key": `{"keys":["AAAA"]}`, "empty": `{"keys":[]}`} {
		t.Run(name, func(t *testing.T) {
			st := memstore.New()
			if err := st.Put("keyring", []byte(val)); err != nil {
				t.Fatal(err)
			}
			_, err := cluster.Start(t.Context(), clustertest.Config("bad", st))
			if err == nil || !strings.Contains(err.Error(), "keyring") {
				t.Fatalf("start with a corrupt keyring: %v", err)
			}
		})
	}
}

// TestKeyRotationRing rotates a 3-node ring from key A to key B while
// registry writes flow: nobody is declared failed, every write arrives,
// and afterwards a node holding only A cannot join while one with B can.
func TestKeyRotationRing(t *testing.T) {
	nodes := clustertest.Ring(t, 3, clustertest.Options{})
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = record(t, n)
	}
	b := testKey(7, 32)
	steps := []func(*cluster.Node, []byte) (cluster.KeyringState, error){
		(*cluster.Node).InstallKey, (*cluster.Node).UseKey, (*cluster.Node).RemoveKey,
	}
	keys := [][]byte{b, b, clustertest.Key}
	for i, step := range steps {
		for _, n := range nodes {
			if _, err := step(n, keys[i]); err != nil {
				t.Fatalf("step %d on %s: %v", i, n.Name(), err)
			}
			r := rec(fmt.Sprintf("p-%d-%s", i, n.Name()), fmt.Sprintf("m-%d-%s", i, n.Name()), cluster.TrustFull)
			if _, err := n.Registry().Put(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	if got := len(nodes[0].Registry().List()); got != 9 {
		t.Fatalf("%d registry records after the rotation, want 9", got)
	}
	for i, r := range recs {
		for _, n := range nodes {
			if slices.Contains(r.types(n.Name()), cluster.MemberFailed) {
				t.Fatalf("%s saw %s fail during the rotation", nodes[i].Name(), n.Name())
			}
		}
	}
	checkJoin(t, nodes[0], "old-key", clustertest.Key, false)
	checkJoin(t, nodes[0], "new-key", b, true)
}

// checkJoin starts a node holding only key and checks whether it joins.
func checkJoin(t *testing.T, ring *cluster.Node, name string, key []byte, want bool) {
	t.Helper()
	cfg := clustertest.Config(name, store.Store(memstore.New()))
	cfg.SecretKey = key
	n := clustertest.StartNode(t, cfg)
	_, err := n.Join([]string{ring.GossipAddr()})
	if got := err == nil; got != want {
		t.Fatalf("%s joined: %v (err %v), want %v", name, got, err, want)
	}
	if want {
		wait.For(t, 5*time.Second, func() bool { return clustertest.StateOf(ring, name) == cluster.StateAlive },
			"%s never became alive", name)
	} else if _, ok := ring.Member(name); ok {
		t.Fatalf("the ring admitted %s", name)
	}
}
