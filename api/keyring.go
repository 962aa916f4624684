package api

// KeyringResult is the answer of every /api/federation/keyring route (GET
// lists, POST installs, PUT makes primary, DELETE removes): what each
// member asked answered, and how many of them hold each key. It is also the
// body of a refusal (409, 502), with Error set.
type KeyringResult struct {
	Op        string          `json:"op"` // list, install, use or remove
	Error     string          `json:"error,omitempty"`
	NumNodes  int             `json:"num_nodes"`
	NumOK     int             `json:"num_ok"`
	NumFailed int             `json:"num_failed"`
	Keys      []KeyCount      `json:"keys"`
	Nodes     []NodeKeyResult `json:"nodes"`
	Skipped   []SkippedMember `json:"skipped"`
}

// KeyCount is one key: how many of the nodes that answered hold it, and
// how many encrypt with it (primary).
type KeyCount struct {
	Key     string `json:"key"`
	Nodes   int    `json:"nodes"`
	Primary int    `json:"primary"`
}

// NodeKeyResult is one member's answer.
type NodeKeyResult struct {
	Name       string   `json:"name"`
	OK         bool     `json:"ok"`
	Error      string   `json:"error,omitempty"`
	PrimaryKey string   `json:"primary_key,omitempty"`
	Keys       []string `json:"keys,omitempty"`
}

// SkippedMember is a member not asked: dead or left, it cannot answer. It
// must be given the ring's keys (--gossip-key) before it can rejoin.
type SkippedMember struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// KeyRequest is the body of POST, PUT and DELETE /api/federation/keyring
// (DELETE also takes ?key=).
type KeyRequest struct {
	Key string `json:"key"` // base64 of 16, 24 or 32 bytes
}
