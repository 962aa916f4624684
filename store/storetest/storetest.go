// Package storetest is the one contract test for [store.Store] backends:
// every backend's tests call [Run] with a function that opens a fresh store.
package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mcpmesh/mcpmesh/store"
)

// Option adjusts Run.
type Option func(*config)

type config struct {
	reopen func(t *testing.T, s store.Store) store.Store
}

// WithReopen makes Run also check that data survives a restart, for
// backends that persist. reopen must close s and return a new Store opened
// over the same data.
func WithReopen(reopen func(t *testing.T, s store.Store) store.Store) Option {
	return func(c *config) { c.reopen = reopen }
}

type testCase struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// Run runs the store contract against stores made by open, one fresh store
// per subtest. Run closes each store when its subtest ends (Close must be
// safe to call twice, so open may register its own Close too).
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	cases := append(basicCases(), batchCases()...)
	cases = append(cases, scanCases()...)
	cases = append(cases, safetyCases()...)
	if cfg.reopen != nil {
		cases = append(cases, testCase{"persists across reopen", func(t *testing.T, s store.Store) {
			testPersistence(t, s, cfg.reopen)
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.run(t, s)
		})
	}
}

func mustPut(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	if err := s.Put(key, []byte(value)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustBatch(t *testing.T, s store.Store, ops ...store.Op) {
	t.Helper()
	if err := s.Batch(ops); err != nil {
		t.Fatalf("Batch(%d ops): %v", len(ops), err)
	}
}

// wantValue fails unless key holds want.
func wantValue(t *testing.T, s store.Store, key, want string) {
	t.Helper()
	got, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantAbsent fails unless Get(key) reports ErrNotFound.
func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	got, err := s.Get(key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want an error wrapping ErrNotFound", key, got, err)
	}
	if got != nil {
		t.Fatalf("Get(%q) returned value %q with ErrNotFound, want nil", key, got)
	}
}

// kv is one pair seen by Scan.
type kv struct{ key, value string }

func scanAll(t *testing.T, s store.Store, prefix string) []kv {
	t.Helper()
	var out []kv
	err := s.Scan(prefix, func(k string, v []byte) error {
		out = append(out, kv{k, string(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return out
}

// wantScan fails unless Scan(prefix) yields exactly want, in order.
func wantScan(t *testing.T, s store.Store, prefix string, want ...kv) {
	t.Helper()
	got := scanAll(t, s, prefix)
	if len(got) != len(want) {
		t.Fatalf("Scan(%q) = %q, want %q", prefix, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Scan(%q)[%d] = %q, want %q (all: %q)", prefix, i, got[i], want[i], got)
		}
	}
}

func testPersistence(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	mustPut(t, s, "p/a", "1")
	mustPut(t, s, "p/gone", "x")
	mustPut(t, s, "p/b", "old")
	mustBatch(t, s,
		store.Op{Key: "p/b", Value: []byte("2")},
		store.Op{Key: "p/c", Value: []byte("3")},
		store.Op{Key: "p/gone", Delete: true})
	s2 := reopen(t, s)
	t.Cleanup(func() { _ = s2.Close() })
	if _, err := s.Get("p/a"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get on the store reopen closed = %v, want ErrClosed", err)
	}
	wantScan(t, s2, "p/", kv{"p/a", "1"}, kv{"p/b", "2"}, kv{"p/c", "3"})
	wantAbsent(t, s2, "p/gone")
	mustPut(t, s2, "p/d", "4")
	wantValue(t, s2, "p/d", "4")
}
