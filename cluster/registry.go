package cluster

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// registryPrefix is the store key prefix of peer records.
const registryPrefix = "registry/"

// Registry is the replicated peer registry: a last-writer-wins map of
// PeerRecords keyed by peer name, with at most one live record per member
// (see peerState for the merge laws and the member rule). It is safe for
// concurrent use.
//
// Local writes (Add, Put, SetTrust, Delete) are validated, given a fresh
// HLC version and this node as Writer, persisted to the store before they
// return, and then broadcast to the ring. Records learned from the ring are
// merged in memory at once and persisted shortly after by the Node's
// persister goroutine (never inside memberlist's callbacks).
type Registry struct {
	self    string
	clock   *Clock
	st      store.Store
	log     *slog.Logger
	drops   *rateLimited
	now     func() time.Time
	maxSkew time.Duration
	tombTTL time.Duration

	// Hooks set by the Node before gossip starts; each must not block.
	broadcast func(name string, msg []byte) // send to the ring
	changed   func(PeerRecord)              // report a change
	dirty     func()                        // wake the persister

	persistMu sync.Mutex // serialises writes to the store (taken before mu)

	mu       sync.Mutex
	state    peerState
	digest   string               // cached Digest; "" when stale
	unstored map[string]struct{}  // names merged but not yet persisted
	own      map[string]*ownWrite // this node's latest writes, for Conflicts

	counts registryCounters // see Stats
}

// NewRegistry returns the registry of node self, loaded from st (which may
// be nil for a registry kept in memory only). A registry made this way is
// not connected to a ring; Node.Registry returns the one a Node replicates.
func NewRegistry(self string, st store.Store, logger *slog.Logger) (*Registry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := DefaultTimings()
	return newRegistry(self, st, logger, t.MaxClockSkew, t.TombstoneTTL)
}

func newRegistry(self string, st store.Store, logger *slog.Logger, skew, ttl time.Duration) (*Registry, error) {
	r := &Registry{
		self: self, clock: NewClock(nil), st: st, now: time.Now, maxSkew: skew, tombTTL: ttl,
		log:   logger.With("component", "registry"),
		state: peerState{}, unstored: map[string]struct{}{}, own: map[string]*ownWrite{},
		broadcast: func(string, []byte) {}, changed: func(PeerRecord) {}, dirty: func() {},
	}
	r.drops = &rateLimited{log: r.log, period: 10 * time.Second}
	return r, r.load()
}

// Add creates the record rec.Name. It fails with ErrNameTaken when a live
// record has that name and with ErrMemberTaken when another live record
// stands for rec.Member.
func (r *Registry) Add(rec PeerRecord) (PeerRecord, error) {
	return r.write(rec.Name, func(cur PeerRecord, live bool) (PeerRecord, error) {
		if live {
			return PeerRecord{}, fmt.Errorf("%w: %q", ErrNameTaken, rec.Name)
		}
		rec.CreatedAt = r.now()
		return rec, r.checkMemberLocked(rec)
	})
}

// Put creates or replaces the record rec.Name (keeping its CreatedAt). It
// fails with ErrMemberTaken when another live record stands for rec.Member.
func (r *Registry) Put(rec PeerRecord) (PeerRecord, error) {
	return r.write(rec.Name, func(cur PeerRecord, live bool) (PeerRecord, error) {
		rec.CreatedAt = r.now()
		if live {
			rec.CreatedAt = cur.CreatedAt
		}
		return rec, r.checkMemberLocked(rec)
	})
}

// SetTrust changes the trust level of the live record name.
func (r *Registry) SetTrust(name, level string) (PeerRecord, error) {
	return r.write(name, func(cur PeerRecord, live bool) (PeerRecord, error) {
		if !live {
			return PeerRecord{}, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		cur.TrustLevel = level
		return cur, nil
	})
}

// Delete replaces the live record name by a tombstone.
func (r *Registry) Delete(name string) error {
	_, err := r.write(name, func(cur PeerRecord, live bool) (PeerRecord, error) {
		if !live {
			return PeerRecord{}, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		cur.Deleted = true
		return cur, nil
	})
	return err
}

// checkMemberLocked refuses rec when another live record has its member.
func (r *Registry) checkMemberLocked(rec PeerRecord) error {
	for _, o := range r.state {
		if !o.Deleted && o.Member == rec.Member && o.Name != rec.Name {
			return fmt.Errorf("%w: member %q is peer %q", ErrMemberTaken, rec.Member, o.Name)
		}
	}
	return nil
}

// write is the path of every local write: build the new record from the
// current one, validate, version, persist, apply, broadcast. Nothing
// changes when it returns an error.
func (r *Registry) write(name string, build func(cur PeerRecord, live bool) (PeerRecord, error)) (PeerRecord, error) {
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	cur, ok := r.state[name]
	rec, err := build(cur, ok && !cur.Deleted)
	r.mu.Unlock()
	if err != nil {
		return PeerRecord{}, err
	}
	rec.Name, rec.Writer, rec.UpdatedAt = name, r.self, r.now()
	rec.Version = r.clock.Now()
	rec = rec.normalize()
	if err := rec.check(); err != nil {
		return PeerRecord{}, err
	}
	msg, err := encodeRecordMsg(rec)
	if err != nil {
		return PeerRecord{}, err
	}
	if err := r.store(rec); err != nil {
		return PeerRecord{}, fmt.Errorf("persist peer %q: %w", name, err)
	}
	r.mu.Lock()
	base := r.state[name].Version
	changed := r.state.apply(rec)
	r.noteLocalLocked(name, base, changed)
	r.digest = ""
	r.mu.Unlock()
	if changed {
		r.broadcast(name, msg)
		r.changed(rec)
	}
	return rec, nil
}

// store writes rec to the store, if there is one.
func (r *Registry) store(rec PeerRecord) error {
	if r.st == nil {
		return nil
	}
	return r.st.Put(registryPrefix+rec.Name, rec.canonical())
}

// Get returns the live record name.
func (r *Registry) Get(name string) (PeerRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.state[name]
	return rec, ok && !rec.Deleted
}

// ByMember returns the live record that stands for member. There is at
// most one: should concurrent writes on two nodes have given one member two
// records, the later one is kept and the other made a tombstone when they
// meet (see peerState).
func (r *Registry) ByMember(member string) (PeerRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best PeerRecord
	found := false
	for _, rec := range r.state {
		if !rec.Deleted && rec.Member == member && (!found || compareRecords(rec, best) > 0) {
			best, found = rec, true
		}
	}
	return best, found
}

// List returns the live records, sorted by name.
func (r *Registry) List() []PeerRecord {
	var out []PeerRecord
	for _, rec := range r.All() {
		if !rec.Deleted {
			out = append(out, rec)
		}
	}
	return out
}

// All returns every record, tombstones included, sorted by name.
func (r *Registry) All() []PeerRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.sorted()
}

// Digest is a hash of every record, tombstones included: equal on every
// node once the registry has converged.
func (r *Registry) Digest() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.digest == "" {
		r.digest = r.state.digest()
	}
	return r.digest
}
