package cluster

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// registryPrefix is the store key prefix of peer records.
const registryPrefix = "registry/"

// peerSpec is how the peer registry keeps, sends and checks its records.
var peerSpec = lwwSpec[PeerRecord]{
	noun: "peer", what: "peer record", prefix: registryPrefix, msgType: msgRecord, invalid: ErrInvalid,
	checkSize: checkPeerSize, decode: decodeRecord,
}

// Registry is the replicated peer registry: a last-writer-wins map of
// PeerRecords keyed by peer name (lwwRegistry), with at most one live
// record per member (see peerState for the member rule). It is safe for
// concurrent use.
//
// Local writes (Add, Put, SetTrust, Delete) are validated, given a fresh
// HLC version and this node as Writer, persisted to the store before they
// return, and then broadcast to the ring. Records learned from the ring are
// merged in memory at once and persisted shortly after by the Node's
// persister goroutine (never inside memberlist's callbacks).
type Registry struct {
	lwwRegistry[PeerRecord]

	own    map[string]*ownWrite // this node's latest writes, for Conflicts (under mu)
	counts registryCounters     // see Stats
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
	r := &Registry{own: map[string]*ownWrite{}}
	r.init(self, st, logger.With("component", "registry"), skew, ttl, peerSpec, r)
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
	return r.update(name, ErrNotFound, func(cur *PeerRecord) error {
		cur.TrustLevel = level
		return nil
	})
}

// Delete replaces the live record name by a tombstone.
func (r *Registry) Delete(name string) error { return r.remove(name, ErrNotFound) }

// checkMemberLocked refuses rec when another live record has its member.
func (r *Registry) checkMemberLocked(rec PeerRecord) error {
	for _, o := range r.state {
		if !o.Deleted && o.Member == rec.Member && o.Name != rec.Name {
			return fmt.Errorf("%w: member %q is peer %q", ErrMemberTaken, rec.Member, o.Name)
		}
	}
	return nil
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
