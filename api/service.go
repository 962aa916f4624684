package api

// Service is one replicated service as GET /api/services (a bare array of
// them, by name) shows it: the upstreams of that service name on this node
// and on its full-trust peers, and the tools it lists (as
// "<service>__<tool>"). mcpmesh services prints them.
type Service struct {
	Name      string            `json:"name"`
	Tools     []string          `json:"tools"` // the listed names, sorted
	Providers []ServiceProvider `json:"providers"`
}

// ServiceProvider is one node that runs an upstream of a service, as this
// node sees it.
type ServiceProvider struct {
	Node string `json:"node"`
	// Status is one of the ProviderStatus values.
	Status string `json:"status"`
	// InFlight counts this node's calls to the provider that have not
	// answered yet.
	InFlight int `json:"in_flight"`
	// RTTMillis is the last gossip round-trip time to the provider's node
	// (memberlist's ping), 0 for this node itself or when none is known.
	RTTMillis float64 `json:"rtt_ms"`
	// Tools are the service tools it serves (listed names, sorted).
	Tools []string `json:"tools"`
	// SchemaMismatch names the service tools it lists with another input
	// schema than the one listed: calls of those never go to it.
	SchemaMismatch []string `json:"schema_mismatch"`
}

// The statuses of a service provider. Only online providers are sent
// calls.
const (
	ProviderOnline  = "online"
	ProviderSuspect = "suspect"       // gossip suspects its node: skipped
	ProviderOffline = "offline"       // its node is dead, unreachable or refuses connections
	ProviderLeft    = "left"          // its node left the ring
	ProviderDown    = "upstream_down" // its node is up, its upstream of the service is not
	ProviderStale   = "stale"         // alive, but its catalog could not be refreshed: still called
)
