package mcp

import (
	"context"
	"encoding/json"
)

// Principal is who sends a request, as the layer in front of the Server
// (the gateway, after it verified the bearer token) says: the token's
// issuer and subject. A session belongs to the principal that initialized
// it: a request naming the session from any other principal is answered
// as if the session did not exist (404). Requests that carry no Principal
// are the zero Principal, anonymous, and share its sessions and budget.
type Principal struct {
	Issuer  string // the token's iss ("" for the node's own HS256 tokens)
	Subject string // the token's sub
	// Groups are the groups the token names, encoded by JoinGroups (a
	// JSON array in a string, so a Principal stays comparable and every
	// group name, spaces included, comes back exactly: GroupList).
	Groups string
	// Node marks another node of the ring (its links to this one): Node
	// principals draw on their own session budget, apart from clients'.
	Node bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for the Server to read from the
// requests it serves. Set it after authentication, before the Handler.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

type relayedKey struct{}

// WithRelayed marks ctx as a request that another node of the ring
// forwarded for its caller (a node token naming the caller: the Principal
// is the caller's, not the node's). The node facing the caller sealed and
// opens the requestState of such a request's input_required exchange, so
// this Server passes it through as it is.
func WithRelayed(ctx context.Context) context.Context {
	return context.WithValue(ctx, relayedKey{}, true)
}

// relayed reports whether ctx is a request another node forwarded: from a
// Node principal, or marked WithRelayed.
func relayed(ctx context.Context) bool {
	r, _ := ctx.Value(relayedKey{}).(bool)
	return r || PrincipalFrom(ctx).Node
}

// PrincipalFrom returns the Principal ctx carries (the zero one if none).
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// JoinGroups encodes groups for Principal.Groups, losslessly: "" for none,
// else their JSON array.
func JoinGroups(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	b, err := json.Marshal(groups)
	if err != nil { // strings always encode
		return ""
	}
	return string(b)
}

// GroupList returns p's groups as the token named them (nil for none).
func (p Principal) GroupList() []string {
	if p.Groups == "" {
		return nil
	}
	var out []string
	if json.Unmarshal([]byte(p.Groups), &out) != nil {
		return nil
	}
	return out
}
