package api

import "time"

// Member is one ring member, trusted or not, as GET
// /api/federation/members (a bare array of them) shows it.
type Member struct {
	Name    string `json:"name"`
	Address string `json:"address"` // its gossip address
	URL     string `json:"url"`     // the HTTP URL it gossips
	Status  string `json:"status"`  // alive, suspect, dead or left
	// Peer is the name of the peer record for this member, null if none.
	Peer          *string   `json:"peer"`
	Version       string    `json:"version"`
	CatalogDigest string    `json:"catalog_digest"`
	Since         time.Time `json:"since"` // when Status last changed
	Self          bool      `json:"self"`  // the member is the answering node
}
