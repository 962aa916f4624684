package federation

import (
	"context"
	"encoding/json"

	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/policy"
)

// Guard is an mcp.Backend that enforces the ring's access rules in front
// of another: lists keep what the caller may see, and a tools/call,
// prompts/get or resources/read (subscribe, unsubscribe; a completion of a
// prompt's or resource's arguments) of anything else gets the answer of
// one that does not exist. Names are judged as /mcp on
// this node lists them (canonical names): through /mcp/peers/{peer}, the
// peer's "echo" is "<peer>__echo"; resources by their URI. A request
// another node forwarded is judged by the canonical name that node
// asserts in its signed node token (else by the name asked). Admin-scope
// callers and node requests that name no caller (catalog pulls) are not
// judged.
type Guard struct {
	f     *Engine
	inner mcp.Backend
	peer  string // "" for /mcp
}

var _ mcp.Backend = (*Guard)(nil)

// Guard returns inner guarded by the rules; peer names the peer of a
// /mcp/peers/{peer} backend ("" for /mcp).
func (f *Engine) Guard(inner mcp.Backend, peer string) *Guard {
	return &Guard{f: f, inner: inner, peer: peer}
}

// List implements mcp.Backend.
func (g *Guard) List(ctx context.Context, kind mcp.Kind, opts mcp.ListOptions) (*mcp.List, error) {
	l, err := g.inner.List(ctx, kind, opts)
	if err != nil || Unrestricted(ctx) {
		return l, err
	}
	set := g.f.Policy()
	if set.Empty() {
		return l, nil
	}
	v := set.For(mcp.PrincipalFrom(ctx))
	if v.Open() {
		return l, nil
	}
	items := v.Filter(l.Items, g.slot(kind), func(it mcp.Item) string { return g.canonical(kind, it.Key) })
	return &mcp.List{Items: items, Meta: l.Meta}, nil
}

// Call implements mcp.Backend.
func (g *Guard) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	kind, name, judged := subjectOf(req)
	if !judged || Unrestricted(ctx) {
		return g.inner.Call(ctx, req)
	}
	canonical := g.canonical(kind, name)
	if asserted := assertedName(ctx); asserted != "" && isForwarded(ctx) {
		canonical = asserted
	}
	if !g.f.Policy().Allowed(mcp.PrincipalFrom(ctx), canonical) {
		mcp.NoteDenied(ctx) // the audit log says denied; the caller hears "unknown"
		return nil, notFound(kind, name)
	}
	return g.inner.Call(withCanonical(ctx, canonical), req)
}

// slot names the listings of kind this Guard filters, for the views'
// caches: /mcp's apart from each peer endpoint's.
func (g *Guard) slot(kind mcp.Kind) string { return g.peer + "/" + kind.String() }

// canonical is the name /mcp on this node lists key of kind under.
func (g *Guard) canonical(kind mcp.Kind, key string) string {
	if g.peer == "" || (kind != mcp.KindTool && kind != mcp.KindPrompt) {
		return key
	}
	return FederatedName(g.peer, key)
}

// subjectOf is the kind and name (or URI) a request uses, if it is judged.
func subjectOf(req *mcp.Request) (mcp.Kind, string, bool) {
	p := req.View()
	switch req.Method {
	case "tools/call":
		return mcp.KindTool, p.Name, p.Name != ""
	case "prompts/get":
		return mcp.KindPrompt, p.Name, p.Name != ""
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return mcp.KindResource, p.URI, p.URI != ""
	case "completion/complete":
		if p.RefType == "ref/prompt" {
			return mcp.KindPrompt, p.RefName, p.RefName != ""
		}
		return mcp.KindResource, p.RefURI, p.RefURI != ""
	}
	return 0, "", false
}

// notFound is the error of a name the caller may not use: the very error
// of one that does not exist.
func notFound(kind mcp.Kind, name string) error {
	switch kind {
	case mcp.KindTool:
		return mcp.Errorf(mcp.CodeInvalidParams, "unknown tool: %s", name)
	case mcp.KindPrompt:
		return mcp.Errorf(mcp.CodeInvalidParams, "unknown prompt: %s", name)
	}
	return &mcp.Error{Code: mcp.CodeResourceNotFound, Message: "resource not found: " + name, Data: map[string]string{"uri": name}}
}

type unrestrictedKey struct{}

// WithUnrestricted marks ctx as a caller the access rules do not restrict:
// an admin-scope token, or a node request that names no caller.
func WithUnrestricted(ctx context.Context) context.Context {
	return context.WithValue(ctx, unrestrictedKey{}, true)
}

// Unrestricted reports whether ctx is marked WithUnrestricted.
func Unrestricted(ctx context.Context) bool {
	u, _ := ctx.Value(unrestrictedKey{}).(bool)
	return u
}

type canonicalKey struct{}

// withCanonical carries the canonical name a request was judged by, for
// the node token of its hop (callerOf).
func withCanonical(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, canonicalKey{}, name)
}

type assertedKey struct{}

// WithAsserted marks ctx with the canonical name the node that forwarded
// the request asserts (its node token's caller claim).
func WithAsserted(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, assertedKey{}, name)
}

func assertedName(ctx context.Context) string {
	n, _ := ctx.Value(assertedKey{}).(string)
	return n
}

// ListChanged returns whether a caller's listing of kind differs between
// the rule sets before and after (nil: no rules), for the list-changed
// notifications of a rule change.
func (g *Guard) ListChanged(kind mcp.Kind, before, after *policy.Set) func(mcp.Principal) bool {
	l, err := g.inner.List(WithUnrestricted(context.Background()), kind, mcp.ListOptions{IncludeFederated: true})
	if err != nil || len(l.Items) == 0 {
		return func(mcp.Principal) bool { return false }
	}
	canon := func(it mcp.Item) string { return g.canonical(kind, it.Key) }
	return func(p mcp.Principal) bool {
		a := before.For(p).Filter(l.Items, g.slot(kind), canon)
		b := after.For(p).Filter(l.Items, g.slot(kind), canon)
		return !sameKeys(a, b)
	}
}

func sameKeys(a, b []mcp.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return false
		}
	}
	return true
}
