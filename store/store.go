// Package store defines mcpmesh's small key-value storage contract: the
// [Store] interface every backend implements, the [Op] of an atomic batch,
// and the errors callers test with errors.Is.
//
// Backends live in subpackages: store/badgerstore (Badger on disk, the one a
// node runs) and store/memstore (a map, for other packages' unit tests).
// store/storetest holds the single contract test that every backend passes.
// The package is a leaf: it imports nothing else from the module.
package store

import (
	"errors"
	"fmt"
)

// MaxKeyLen is the longest key, in bytes, that every backend accepts.
const MaxKeyLen = 4096

var (
	// ErrNotFound is returned (possibly wrapped) by Get when a key is absent.
	ErrNotFound = errors.New("store: key not found")
	// ErrClosed is returned (possibly wrapped) by any method called after Close.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidKey is returned (wrapped, with the reason) for an empty or too
	// long key; the call that got it changed nothing.
	ErrInvalidKey = errors.New("store: invalid key")
)

// Store is a byte-oriented key-value store, safe for concurrent use.
//
// Values passed in are copied before the call returns, and values handed out
// (by Get and to Scan's fn) are fresh copies the caller may keep and modify.
type Store interface {
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound when there is none.
	Get(key string) ([]byte, error)
	// Put stores value under key, replacing any previous value.
	Put(key string, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key string) error
	// Batch applies ops atomically, in order: either all of them take effect
	// or, when it returns an error, none does. Later ops on a key win.
	Batch(ops []Op) error
	// Scan calls fn for every key starting with prefix, in ascending byte
	// order of keys. An error from fn stops the scan and is returned as is.
	// fn may call the Store's other methods but must not call Close.
	Scan(prefix string, fn func(key string, value []byte) error) error
	// Close releases the store. It is safe to call more than once; every
	// other method returns an error wrapping ErrClosed afterwards.
	Close() error
}

// Op is one write of a Batch: a Put of Value under Key, or, when Delete is
// set, a Delete of Key (Value is then ignored).
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// CheckKey returns an error wrapping ErrInvalidKey when key is empty or
// longer than MaxKeyLen, and nil otherwise.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key is %d bytes, longer than the limit of %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}

// CheckOps checks every op's key, so that a batch with one bad op can be
// refused before anything is written. The error names the op's index.
func CheckOps(ops []Op) error {
	for i, op := range ops {
		if err := CheckKey(op.Key); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}
