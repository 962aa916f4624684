package api

// Info is GET /api/federation/info: who the answering node is. A node that
// adds a peer by URL asks it this first.
type Info struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	GossipAddress string `json:"gossip_address"`
	URL           string `json:"url"` // its advertised URL
	CatalogDigest string `json:"catalog_digest"`
	// RegistryDigest is equal on every node once the registry converged.
	RegistryDigest string `json:"registry_digest"`
	Members        int    `json:"members"` // alive or suspect, itself included
	Peers          int    `json:"peers"`   // records in the registry
}
