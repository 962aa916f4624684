package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Trust levels of a peer record.
const (
	TrustFull     = "full"     // tools listed, calls routed
	TrustDiscover = "discover" // tools listed, calls refused
	TrustNone     = "none"     // kept, nothing federated
)

// Limits of a peer record's fields, in bytes.
const (
	MaxPeerURL     = 512
	maxRecordBytes = 1100 // encoded, with the message type byte: fits one gossip packet
)

// Sentinel errors of the registry, wrapped with detail.
var (
	ErrInvalid     = errors.New("invalid peer record")
	ErrNotFound    = errors.New("peer not found")
	ErrNameTaken   = errors.New("peer name already taken")
	ErrMemberTaken = errors.New("member already has a peer record")
)

var peerNameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// PeerRecord is one entry of the replicated peer registry. Name is the key;
// Version and Writer (the node that wrote it) order the versions of a
// record; Deleted marks a tombstone.
type PeerRecord struct {
	Name       string    `json:"name"`
	Member     string    `json:"member"`
	URL        string    `json:"url"`
	TrustLevel string    `json:"trust_level"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    HLC       `json:"version"`
	Writer     string    `json:"writer"`
	Deleted    bool      `json:"deleted,omitempty"`
}

// CheckPeerName reports whether name is a valid peer name: 1–32 of
// [a-z0-9-], without "__" (which cannot occur in that alphabet, and is
// checked anyway because federated names split on it).
func CheckPeerName(name string) error {
	if !peerNameRE.MatchString(name) || strings.Contains(name, "__") {
		return fmt.Errorf("%w: name %q must be 1-32 characters of a-z, 0-9 and '-'", ErrInvalid, name)
	}
	return nil
}

// CheckTrustLevel reports whether level is full, discover or none.
func CheckTrustLevel(level string) error {
	switch level {
	case TrustFull, TrustDiscover, TrustNone:
		return nil
	}
	return fmt.Errorf("%w: trust level %q must be one of full, discover, none", ErrInvalid, level)
}

// checkUser validates the fields an admin sets.
func (r PeerRecord) checkUser() error {
	if err := CheckPeerName(r.Name); err != nil {
		return err
	}
	if err := checkName(r.Member); err != nil {
		return fmt.Errorf("%w: member: %v", ErrInvalid, err)
	}
	if err := CheckTrustLevel(r.TrustLevel); err != nil {
		return err
	}
	return checkPeerURL(r.URL)
}

func checkPeerURL(s string) error {
	if len(s) > MaxPeerURL {
		return fmt.Errorf("%w: url is %d bytes, longer than %d", ErrInvalid, len(s), MaxPeerURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: url %q must be an absolute http or https URL", ErrInvalid, s)
	}
	return nil
}

// check validates a whole record, as received from gossip or the store.
func (r PeerRecord) check() error {
	if err := r.checkUser(); err != nil {
		return err
	}
	return checkHead(ErrInvalid, r.head())
}

// checkPeerSize refuses a record whose broadcast (its n bytes of JSON
// after the message type byte) would not fit one gossip packet.
func checkPeerSize(name string, n int) error {
	if n == 0 || n+1 > maxRecordBytes {
		return fmt.Errorf("%w: record %q encodes to %d bytes, more than %d", ErrInvalid, name, n+1, maxRecordBytes)
	}
	return nil
}

// canonical is the record's JSON encoding, the basis of digests and of the
// last tie-break of the merge order.
func (r PeerRecord) canonical() []byte { return canonicalJSON(r) }

// compareRecords totally orders records (lwwCompare). The merge keeps the
// greater version of a name; settle keeps the greatest record of a member.
func compareRecords(a, b PeerRecord) int { return lwwCompare(a, b) }

// head and withHead read and set the fields lwwRegistry handles.
func (r PeerRecord) head() lwwHead {
	return lwwHead{name: r.Name, writer: r.Writer, version: r.Version, deleted: r.Deleted, createdAt: r.CreatedAt, updatedAt: r.UpdatedAt}
}

func (r PeerRecord) withHead(h lwwHead) PeerRecord {
	r.Name, r.Writer, r.Version, r.Deleted = h.name, h.writer, h.version, h.deleted
	r.CreatedAt, r.UpdatedAt = h.createdAt, h.updatedAt
	return r
}

// same reports whether a and b are the same record.
func (r PeerRecord) same(o PeerRecord) bool {
	return r.Name == o.Name && r.Member == o.Member && r.URL == o.URL && r.TrustLevel == o.TrustLevel &&
		r.CreatedAt.Equal(o.CreatedAt) && r.UpdatedAt.Equal(o.UpdatedAt) && r.Version == o.Version &&
		r.Writer == o.Writer && r.Deleted == o.Deleted
}
