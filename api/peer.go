package api

import "time"

// Peer is a federation peer as GET /api/federation/peers (a bare array of
// them), GET, POST and PATCH /api/federation/peers[/{name}] show it: its
// record in the ring-wide registry plus its health as the answering node
// sees it.
type Peer struct {
	Name       string `json:"name"`
	URL        string `json:"url"`    // the URL the admin gave
	Member     string `json:"member"` // the ring member it is
	TrustLevel string `json:"trust_level"`
	Status     string `json:"status"` // one of the Peer* statuses below
	Tools      int    `json:"tools"`  // how many of its tools this node lists
	// LastSeen is now while its member is alive or suspect, else when it
	// stopped being; null when this node does not know the member.
	LastSeen      *time.Time `json:"last_seen"`
	CatalogDigest string     `json:"catalog_digest,omitempty"`
	Error         string     `json:"error,omitempty"` // what is wrong with it, if anything
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	UpdatedBy     string     `json:"updated_by"` // the node that wrote the record last
}

// A peer's status.
const (
	PeerOnline  = "online"
	PeerSuspect = "suspect"
	// PeerStale: alive, but its catalog could not be refreshed; the cached
	// one is served and the peer is named in missing_peers.
	PeerStale   = "stale"
	PeerOffline = "offline"
	PeerLeft    = "left"
)

// AddPeerRequest is the body of POST /api/federation/peers. Name defaults
// to the member's name, TrustLevel to "full".
type AddPeerRequest struct {
	URL        string `json:"url"`
	Name       string `json:"name,omitempty"`
	TrustLevel string `json:"trust_level,omitempty"`
}

// TrustRequest is the body of PATCH /api/federation/peers/{name}.
type TrustRequest struct {
	TrustLevel string `json:"trust_level"` // full, discover or none
}
