// Package badgerstore is the [store.Store] a node runs: Badger v4, tuned to a
// small memory footprint so that dozens of nodes fit on one machine, with
// synchronous writes so that a write acknowledged to the caller survives the
// process being killed (kill -9) or the machine losing power.
package badgerstore

import (
	"errors"
	"fmt"
	"log/slog"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/mcpmesh/mcpmesh/store"
)

// Options configures Open.
type Options struct {
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// InMemory keeps everything in memory (dir must then be ""): nothing
	// survives Close.
	InMemory bool
}

// Store is a store.Store backed by Badger. Its methods are safe for
// concurrent use.
type Store struct {
	db   *badger.DB
	dir  string
	gate gate
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the Badger database in dir.
func Open(dir string, opts Options) (*Store, error) {
	switch {
	case opts.InMemory && dir != "":
		return nil, fmt.Errorf("badgerstore: open: dir must be empty for an in-memory store, got %q", dir)
	case !opts.InMemory && dir == "":
		return nil, errors.New("badgerstore: open: dir is required (or set InMemory)")
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %q: %w", dir, err)
	}
	return &Store{db: db, dir: dir}, nil
}

// badgerOptions returns Badger's options for a small node: a few MB of
// memtables and caches instead of Badger's hundreds of MB.
func badgerOptions(dir string, opts Options) badger.Options {
	return badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(true).
		WithLogger(newLogger(opts.Logger)).
		WithMetricsEnabled(false).
		WithDetectConflicts(false). // transactions here only write
		WithNumGoroutines(2).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(6).
		WithBaseTableSize(2 << 20).
		WithValueLogFileSize(16 << 20).
		WithNumCompactors(2).
		WithCompression(options.None).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(2 << 20)
}

// Dir returns the directory the store was opened on ("" when in memory).
func (s *Store) Dir() string { return s.dir }

// Get returns a copy of the value under key, or an error wrapping
// store.ErrNotFound.
func (s *Store) Get(key string) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("badgerstore: get: %w", err)
	}
	if err := s.gate.enter(); err != nil {
		return nil, fmt.Errorf("badgerstore: get %q: %w", key, err)
	}
	defer s.gate.exit()
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: get %q: %w", key, err)
	}
	return val, nil
}

// Put stores value under key; it returns once the write is synced to disk.
func (s *Store) Put(key string, value []byte) error {
	return s.write("put", []store.Op{{Key: key, Value: value}})
}

// Delete removes key; an absent key is not an error.
func (s *Store) Delete(key string) error {
	return s.write("delete", []store.Op{{Key: key, Delete: true}})
}

// Batch applies ops in one Badger transaction: all or nothing. A batch too
// large for one transaction (over ~15% of the 8 MB memtable) is refused whole.
func (s *Store) Batch(ops []store.Op) error {
	return s.write("batch", ops)
}

func (s *Store) write(what string, ops []store.Op) error {
	if err := store.CheckOps(ops); err != nil {
		return fmt.Errorf("badgerstore: %s: %w", what, err)
	}
	if err := s.gate.enter(); err != nil {
		return fmt.Errorf("badgerstore: %s: %w", what, err)
	}
	defer s.gate.exit()
	err := s.db.Update(func(txn *badger.Txn) error {
		for i, op := range ops {
			if err := apply(txn, op); err != nil {
				return fmt.Errorf("op %d (key %q): %w", i, op.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: %s: %w", what, err)
	}
	return nil
}

// apply adds one op to txn. Badger copies the value into its memtable at
// commit, which happens before Update returns, so the caller's buffer is
// free for reuse as soon as the write call returns.
func apply(txn *badger.Txn, op store.Op) error {
	if op.Delete {
		return txn.Delete([]byte(op.Key))
	}
	return txn.Set([]byte(op.Key), op.Value)
}

// Scan calls fn for each key with prefix, in key order, from one consistent
// read snapshot. fn may call the Store's other methods, but not Close.
func (s *Store) Scan(prefix string, fn func(key string, value []byte) error) error {
	if err := s.gate.enter(); err != nil {
		return fmt.Errorf("badgerstore: scan %q: %w", prefix, err)
	}
	defer s.gate.exit()
	var fnErr error
	err := s.db.View(func(txn *badger.Txn) error {
		fnErr = scan(txn, []byte(prefix), fn)
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("badgerstore: scan %q: %w", prefix, err)
	}
	return nil
}

func scan(txn *badger.Txn, prefix []byte, fn func(string, []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		val, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("badgerstore: scan %q: read %q: %w", prefix, item.Key(), err)
		}
		if err := fn(string(item.Key()), val); err != nil {
			return err
		}
	}
	return nil
}

// Close waits for calls in progress, then closes Badger. Later calls return
// nil; other methods then fail with store.ErrClosed.
func (s *Store) Close() error {
	if !s.gate.close() {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badgerstore: close %q: %w", s.dir, err)
	}
	return nil
}
