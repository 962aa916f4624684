package store_test

import (
	"testing"

	"github.com/mcpmesh/mcpmesh/store"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
	"github.com/mcpmesh/mcpmesh/store/memstore"
	"github.com/mcpmesh/mcpmesh/store/storetest"
)

func TestMemstore(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

func TestBadgerstore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openBadger(t, t.TempDir())
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		dir := s.(*badgerstore.Store).Dir()
		if err := s.Close(); err != nil {
			t.Fatalf("Close before reopen: %v", err)
		}
		return openBadger(t, dir)
	}))
}

func TestBadgerstoreInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := badgerstore.Open("", badgerstore.Options{InMemory: true})
		if err != nil {
			t.Fatalf("Open in memory: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func openBadger(t *testing.T, dir string) *badgerstore.Store {
	t.Helper()
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
