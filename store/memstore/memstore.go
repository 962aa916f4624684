// Package memstore is an in-memory [store.Store] (a map guarded by a
// RWMutex) for other packages' unit tests. It keeps nothing across restarts.
package memstore

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mcpmesh/mcpmesh/store"
)

// Store is an in-memory store.Store. The zero value is not usable: call New.
type Store struct {
	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty, open Store.
func New() *Store {
	return &Store{data: make(map[string][]byte)}
}

// Get returns a copy of the value under key, or an error wrapping
// store.ErrNotFound.
func (s *Store) Get(key string) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("memstore: get: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memstore: get %q: %w", key, store.ErrClosed)
	}
	v, ok := s.data[key]
	if !ok {
		return nil, fmt.Errorf("memstore: get %q: %w", key, store.ErrNotFound)
	}
	return clone(v), nil
}

// Put stores a copy of value under key.
func (s *Store) Put(key string, value []byte) error {
	return s.write("put", []store.Op{{Key: key, Value: value}})
}

// Delete removes key; an absent key is not an error.
func (s *Store) Delete(key string) error {
	return s.write("delete", []store.Op{{Key: key, Delete: true}})
}

// Batch applies ops atomically: all keys are checked before any is written.
func (s *Store) Batch(ops []store.Op) error {
	return s.write("batch", ops)
}

func (s *Store) write(what string, ops []store.Op) error {
	if err := store.CheckOps(ops); err != nil {
		return fmt.Errorf("memstore: %s: %w", what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: %s: %w", what, store.ErrClosed)
	}
	for _, op := range ops {
		if op.Delete {
			delete(s.data, op.Key)
		} else {
			s.data[op.Key] = clone(op.Value)
		}
	}
	return nil
}

// Scan calls fn for each key with prefix, in key order. It works on a
// snapshot taken under the read lock, so fn may call the Store's methods.
func (s *Store) Scan(prefix string, fn func(key string, value []byte) error) error {
	keys, vals, err := s.snapshot(prefix)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) snapshot(prefix string) ([]string, [][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, fmt.Errorf("memstore: scan %q: %w", prefix, store.ErrClosed)
	}
	var keys []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = clone(s.data[k])
	}
	return keys, vals, nil
}

// Close marks the store closed and drops its data; later calls are no-ops.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.data = nil
	return nil
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
