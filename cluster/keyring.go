package cluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"

	"github.com/mcpmesh/mcpmesh/store"
)

// keyringKey is the store key of the node's gossip keyring.
const keyringKey = "keyring"

var (
	// ErrNotEncrypted is returned by keyring operations on a node whose
	// gossip is not encrypted.
	ErrNotEncrypted = errors.New("gossip is not encrypted on this node")
	// ErrKeyNotInstalled is returned by UseKey for a key the node does not hold.
	ErrKeyNotInstalled = errors.New("key is not installed")
	// ErrPrimaryKey is returned by RemoveKey for the key the node encrypts with.
	ErrPrimaryKey = errors.New("key is the primary key")
)

// KeyringState is a node's gossip keys, standard base64. Keys lists every
// key the node decrypts with, the primary (the one it encrypts with) first.
type KeyringState struct {
	Primary string   `json:"primary"`
	Keys    []string `json:"keys"`
}

// ParseKey decodes a base64 gossip key and checks it is an AES key (16, 24
// or 32 bytes).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("key is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("key is not standard base64: %w", err)
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("key is %d bytes; an AES key is 16, 24 or 32 bytes", len(key))
	}
	return key, nil
}

// EncodeKey is the base64 form of a key, as ParseKey reads it.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// keyring is the node's memberlist keyring and its persisted copy. Each
// change is written to the store before memberlist uses it, so a key the
// ring relies on is never only in memory.
type keyring struct {
	mu    sync.Mutex // serialises changes; memberlist's Keyring locks itself
	ml    *memberlist.Keyring
	store store.Store
}

// loadKeyring builds the keyring: the stored one if there is one (it wins
// over the configured key), else the configured key alone. It returns nil
// when neither exists (unencrypted gossip) and whether the stored one won.
// reset deletes the stored keyring first.
func loadKeyring(st store.Store, configured []byte, reset bool) (*keyring, bool, error) {
	if reset {
		if err := st.Delete(keyringKey); err != nil {
			return nil, false, fmt.Errorf("reset keyring: %w", err)
		}
	}
	stored, err := readKeyring(st)
	if err != nil {
		return nil, false, err
	}
	switch {
	case stored != nil:
		kr, err := memberlist.NewKeyring(stored[1:], stored[0])
		if err != nil {
			return nil, false, fmt.Errorf("stored keyring: %w", err)
		}
		return &keyring{ml: kr, store: st}, true, nil
	case len(configured) > 0:
		kr, err := memberlist.NewKeyring(nil, configured)
		return &keyring{ml: kr, store: st}, false, err
	}
	return nil, false, nil
}

// logLoaded says a stored keyring is in use, and whether it holds the
// configured key.
func (k *keyring) logLoaded(log *slog.Logger, configured []byte) {
	keys := k.ml.GetKeys()
	if len(configured) > 0 && indexKey(keys, configured) < 0 {
		log.Info("gossip keys from the stored keyring, which wins over the configured key it does not hold (reset it with --reset-keyring)", "keys", len(keys))
		return
	}
	log.Info("gossip keys from the stored keyring", "keys", len(keys))
}

// readKeyring returns the stored keys, primary first, or nil.
func readKeyring(st store.Store) ([][]byte, error) {
	b, err := st.Get(keyringKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	var s KeyringState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("stored keyring is corrupt: %w", err)
	}
	keys := make([][]byte, 0, len(s.Keys))
	for _, k := range s.Keys {
		key, err := ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("stored keyring: %w", err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("stored keyring has no keys")
	}
	return keys, nil
}

// state is the keyring now.
func (k *keyring) state() KeyringState {
	keys := k.ml.GetKeys()
	s := KeyringState{Keys: make([]string, len(keys))}
	for i, key := range keys {
		s.Keys[i] = EncodeKey(key)
	}
	if len(keys) > 0 {
		s.Primary = s.Keys[0]
	}
	return s
}

// change computes the keys after op, persists them, then applies op to
// memberlist's keyring. A refused op or a failed write changes nothing.
func (k *keyring) change(next func(keys [][]byte) ([][]byte, error), apply func() error) (KeyringState, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	keys, err := next(k.ml.GetKeys())
	if err != nil {
		return k.state(), err
	}
	if err := k.persist(keys); err != nil {
		return k.state(), err
	}
	if err := apply(); err != nil { // checked by next: cannot fail
		return k.state(), fmt.Errorf("keyring: %w", err)
	}
	return k.state(), nil
}

// persist stores keys, primary first.
func (k *keyring) persist(keys [][]byte) error {
	s := KeyringState{Keys: make([]string, len(keys))}
	for i, key := range keys {
		s.Keys[i] = EncodeKey(key)
	}
	s.Primary = s.Keys[0]
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode keyring: %w", err)
	}
	if err := k.store.Put(keyringKey, b); err != nil {
		return fmt.Errorf("persist keyring: %w", err)
	}
	return nil
}

func (k *keyring) install(key []byte) (KeyringState, error) {
	return k.change(func(keys [][]byte) ([][]byte, error) {
		if indexKey(keys, key) >= 0 {
			return keys, nil
		}
		return append(append([][]byte{}, keys...), key), nil
	}, func() error { return k.ml.AddKey(key) })
}

func (k *keyring) use(key []byte) (KeyringState, error) {
	return k.change(func(keys [][]byte) ([][]byte, error) {
		i := indexKey(keys, key)
		if i < 0 {
			return nil, ErrKeyNotInstalled
		}
		out := [][]byte{key}
		return append(out, append(append([][]byte{}, keys[:i]...), keys[i+1:]...)...), nil
	}, func() error { return k.ml.UseKey(key) })
}

func (k *keyring) remove(key []byte) (KeyringState, error) {
	return k.change(func(keys [][]byte) ([][]byte, error) {
		i := indexKey(keys, key)
		switch {
		case i == 0:
			return nil, ErrPrimaryKey
		case i < 0:
			return keys, nil
		}
		return append(append([][]byte{}, keys[:i]...), keys[i+1:]...), nil
	}, func() error {
		// memberlist's RemoveKey edits its key slice in place; UseKey of the
		// primary first gives it a fresh slice no packet reader holds.
		if err := k.ml.UseKey(k.ml.GetPrimaryKey()); err != nil {
			return err
		}
		return k.ml.RemoveKey(key)
	})
}

func indexKey(keys [][]byte, key []byte) int {
	for i, k := range keys {
		if bytes.Equal(k, key) {
			return i
		}
	}
	return -1
}

// Keyring returns the node's gossip keys.
func (n *Node) Keyring() (KeyringState, error) {
	if n.keys == nil {
		return KeyringState{}, ErrNotEncrypted
	}
	return n.keys.state(), nil
}

// InstallKey adds key to the node's keyring (persisted) so it decrypts
// gossip sealed with it. Installing a held key changes nothing.
func (n *Node) InstallKey(key []byte) (KeyringState, error) {
	return n.keyOp(key, (*keyring).install)
}

// UseKey makes an installed key the primary: the one the node encrypts
// with. Every member should hold it first (see InstallKey).
func (n *Node) UseKey(key []byte) (KeyringState, error) {
	return n.keyOp(key, (*keyring).use)
}

// RemoveKey removes a key other than the primary from the node's keyring;
// removing a key the node does not hold changes nothing.
func (n *Node) RemoveKey(key []byte) (KeyringState, error) {
	return n.keyOp(key, (*keyring).remove)
}

func (n *Node) keyOp(key []byte, op func(*keyring, []byte) (KeyringState, error)) (KeyringState, error) {
	if n.keys == nil {
		return KeyringState{}, ErrNotEncrypted
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return n.keys.state(), fmt.Errorf("key is %d bytes; an AES key is 16, 24 or 32 bytes", len(key))
	}
	if n.isShutdown() {
		return n.keys.state(), ErrShutdown
	}
	return op(n.keys, key)
}
