package federation

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// A legacy MCP session lives on the node that minted it (its id names that
// node, mcp/sessionid.go). A request carrying the id of a session another
// alive member minted is served by that member through the node it
// reached: the gateway proxies it there as it came (same path, the
// caller's MCP headers), with this node's token in place of the caller's,
// naming the caller (see Caller), so the owner serves it as the caller's
// principal and checks the session is that principal's. Here: where the
// owner is, and the transport that carries the token.

// HeaderSessionProxied marks a session request one node proxied to the
// session's owner (its value names the proxying node). The owner serves it
// from its whole catalog, as a request of the caller's own: unlike
// HeaderForwarded, it changes nothing of what the request sees. It is for
// logs; what keeps a proxied request from being proxied again is its node
// token (the gateway never proxies a node token's request).
const HeaderSessionProxied = "X-Mcpmesh-Session-Proxied"

// ErrSessionOwnerGone is the error of a session whose owner no node can
// reach any more: not a member, dead or left, or gossiping no URL. Its
// sessions are over; the client gets 404 and starts a new one.
var ErrSessionOwnerGone = errors.New("session owner is gone")

// SessionOwnerURL returns the base URL (the one member gossips) of member,
// the node that minted a session, if a request for that session can be
// proxied there: member is another node of the ring, alive or suspect (a
// suspect node may still answer: a refused connection then ends the
// session). A dead, left or unknown member, or one gossiping no URL, is
// ErrSessionOwnerGone.
func (f *Engine) SessionOwnerURL(member string) (*url.URL, error) {
	if member == f.self {
		return nil, fmt.Errorf("session owner %q is this node: %w", member, errSelfOwner)
	}
	m, ok := f.cfg.Node.Member(member)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %q is not a member of the ring", ErrSessionOwnerGone, member)
	case m.State != cluster.StateAlive && m.State != cluster.StateSuspect:
		return nil, fmt.Errorf("%w: member %q is %s", ErrSessionOwnerGone, member, m.State)
	case m.Meta.URL == "":
		return nil, fmt.Errorf("%w: member %q gossips no url", ErrSessionOwnerGone, member)
	}
	u, err := url.Parse(m.Meta.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: member %q gossips a bad url %q", ErrSessionOwnerGone, member, m.Meta.URL)
	}
	return u, nil
}

// errSelfOwner is SessionOwnerURL's error for this node's own sessions,
// which are served here (never proxied).
var errSelfOwner = errors.New("served here")

// SessionTransport is the transport of proxied session requests: pooled
// keep-alive connections (inline ones, over TLS to https members, see
// inlinetransport.go; net/http's through proxies),
// adding to each request a node token
// for the member its context names (ToNode; sent only to the address that
// member gossips) that names the principal its context carries
// (mcp.PrincipalFrom) as the caller, and HeaderSessionProxied.
func (f *Engine) SessionTransport() http.RoundTripper {
	return &sessionTransport{tokens: f.tokens, from: f.self, base: f.base, inline: f.inline}
}

type sessionTransport struct {
	tokens *nodeTokens
	from   string
	base   http.RoundTripper
	inline *inlinePoster
}

func (t *sessionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	owner, _ := r.Context().Value(audienceKey{}).(string)
	if owner == "" {
		return nil, errors.New("proxied session request names no owner (federation.ToNode)")
	}
	caller := callerFrom(r.Context())
	if caller == nil {
		return nil, fmt.Errorf("proxied session request to %s names no caller", owner)
	}
	tok, err := t.tokens.forNodeAs(owner, r.URL, caller)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set(HeaderSessionProxied, t.from)
	if t.inline.usable(r.URL) {
		return inlineTransport{p: t.inline}.RoundTrip(r)
	}
	return t.base.RoundTrip(r)
}
