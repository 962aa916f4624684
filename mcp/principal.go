package mcp

import "context"

// Principal is who sends a request, as the layer in front of the Server
// (the gateway, after it verified the bearer token) says: the token's
// issuer and subject. A session belongs to the principal that initialized
// it: a request naming the session from any other principal is answered
// as if the session did not exist (404). Requests that carry no Principal
// are the zero Principal, anonymous, and share its sessions and budget.
type Principal struct {
	Issuer  string // the token's iss ("" for the node's own HS256 tokens)
	Subject string // the token's sub
	// Groups are the groups the token names, space-separated (a string,
	// so a Principal stays comparable).
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

// PrincipalFrom returns the Principal ctx carries (the zero one if none).
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
