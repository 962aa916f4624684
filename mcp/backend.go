package mcp

import (
	"context"
	"encoding/json"
)

// Kind names one of the four listable collections of MCP.
type Kind int

// The listable kinds.
const (
	KindTool Kind = iota
	KindPrompt
	KindResource
	KindResourceTemplate
)

// String returns the result field that holds this kind in a list answer.
func (k Kind) String() string {
	return [...]string{"tools", "prompts", "resources", "resourceTemplates"}[k]
}

// Item is one listed entry in its final wire form. Key is what the entry is
// called by: the name of a tool or prompt, the URI of a resource, the URI
// template of a template.
type Item struct {
	Key  string
	JSON json.RawMessage
}

// List is one kind's full listing, before pagination. Meta is merged into the
// answer's _meta (for example "mcpmesh/missing_peers").
type List struct {
	Items []Item
	Meta  map[string]any
}

// ListOptions are the caller's choices for one listing.
type ListOptions struct {
	// IncludeFederated adds trusted peers' entries; a local-only Backend
	// ignores it.
	IncludeFederated bool
}

// Backend answers the MCP methods that concern tools, prompts and
// resources. The Server handles the protocol itself (initialize, ping,
// logging/setLevel, pagination, sessions) and calls a Backend for the rest.
//
// Call serves tools/call, prompts/get, resources/read, resources/subscribe,
// resources/unsubscribe and completion/complete. It returns the raw result
// object, or an error: an *Error is sent as that JSON-RPC error, any other
// error as an internal error.
type Backend interface {
	List(ctx context.Context, kind Kind, opts ListOptions) (*List, error)
	Call(ctx context.Context, req *Request) (json.RawMessage, error)
}

// Request is one client request handed to a Backend.
type Request struct {
	Method string
	Params json.RawMessage
	// Client is the connection back to the calling client; never nil.
	Client Client

	view *ParamsView // Params as read at dispatch (see View)
}

// Client is the way back to the client that made a request: notifications
// about it (progress, log messages) and requests to the client (sampling,
// elicitation, roots). While the request is open, messages go on its own
// stream; afterwards (a subscription's updates) on the session's GET stream.
// A sessionless caller has no way back: Notify drops, Request fails.
type Client interface {
	// SessionID is the Mcp-Session-Id, or "" for a sessionless call; for a
	// 2026-07-28 request (no session) it names that request's response
	// stream, the way back while the request lasts.
	SessionID() string
	Notify(ctx context.Context, method string, params any) error
	Request(ctx context.Context, method string, params any) (json.RawMessage, error)
	// LogLevel is the level the client set with logging/setLevel, or "".
	LogLevel() string
	// Capabilities is the capabilities object the client sent in initialize.
	Capabilities() json.RawMessage
	// Done is closed when the session ends.
	Done() <-chan struct{}
}
