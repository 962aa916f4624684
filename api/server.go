package api

import "time"

// Server is one of the node's upstream MCP servers as GET /api/servers (a
// bare array of them), GET /api/servers/{name} and POST /api/servers show
// it: its connection's status and where its entry comes from. Headers and
// env are never shown (they hold secrets).
type Server struct {
	Name      string `json:"name"`
	Transport string `json:"transport"` // stdio or http
	State     string `json:"state"`
	Error     string `json:"error,omitempty"`
	// ListError says why the last listing failed (the previous definitions
	// are kept); empty once one succeeds.
	ListError         string    `json:"list_error,omitempty"`
	ProtocolVersion   string    `json:"protocol_version,omitempty"`
	Tools             int       `json:"tools"`
	Prompts           int       `json:"prompts"`
	Resources         int       `json:"resources"`
	ResourceTemplates int       `json:"resource_templates"`
	Restarts          int       `json:"restarts"` // connection attempts after the first
	Since             time.Time `json:"since"`    // when State (or Error) last changed
	PID               int       `json:"pid,omitempty"`
	Status            string    `json:"status"` // State, under the contract's name
	Prefix            string    `json:"prefix"`
	Service           string    `json:"service,omitempty"` // the replicated service it provides, if any
	Origin            string    `json:"origin"`            // config (the --config file) or api
}
