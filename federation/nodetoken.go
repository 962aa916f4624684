package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// nodeTokenTTL is the life of the tokens nodes mint for each other.
const nodeTokenTTL = time.Hour

// NodeSubjectPrefix starts the subject of every node token ("node:<name>").
const NodeSubjectPrefix = "node:"

// The scopes of node tokens: the token scopes of the gateway's auth
// (gateway.ScopeMCP, gateway.ScopeAdmin), which checks them.
const (
	scopeMCP   = "mcp"
	scopeAdmin = "admin"
)

// nodeClaims are the claims of a node token: the JWT claims the gateway
// reads (gateway.Claims), minted here from the ring's shared secret.
type nodeClaims struct {
	Scope  string  `json:"scope,omitempty"`
	Caller *Caller `json:"mcpmesh_caller,omitempty"`
	jwt.RegisteredClaims
}

// Caller is the principal a forwarded request is made for, in the node
// token that carries it (claim "mcpmesh_caller"): the receiving node serves
// the request as that principal. It names the caller, never carries the
// caller's token.
type Caller struct {
	Subject string   `json:"sub"`
	Issuer  string   `json:"iss,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	// Admin: the caller's token has admin scope (the access rules do not
	// restrict it).
	Admin bool `json:"admin,omitempty"`
	// Name is the canonical name (as /mcp on the sending node lists it)
	// the sending node judged the request by; the receiving node judges
	// it again by the same name.
	Name string `json:"name,omitempty"`
}

// callerFrom is the caller ctx's request is made for, as a node token
// names it: its principal, whether it is unrestricted, and the canonical
// name it was judged by (nil for the anonymous principal).
func callerFrom(ctx context.Context) *Caller {
	c := CallerOf(mcp.PrincipalFrom(ctx))
	if c != nil {
		c.Admin = Unrestricted(ctx)
		c.Name, _ = ctx.Value(canonicalKey{}).(string)
	}
	return c
}

// CallerOf is p as a node token names it (nil for the anonymous principal).
func CallerOf(p mcp.Principal) *Caller {
	if p.Subject == "" && p.Issuer == "" {
		return nil
	}
	return &Caller{Subject: p.Subject, Issuer: p.Issuer, Groups: p.GroupList()}
}

// Principal is the principal a node token's caller claim names.
func (c *Caller) Principal() mcp.Principal {
	return mcp.Principal{Issuer: c.Issuer, Subject: c.Subject, Groups: mcp.JoinGroups(c.Groups)}
}

// key is c as part of a minted token's cache key.
func (c *Caller) key() string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c) // lossless: no two callers share a key
	return "\x00" + string(b)
}

// audInfo is the audience of a node token sent where the node it reaches
// is not known yet (asking a URL who it is): it is good for
// GET /api/federation/info only.
const audInfo = "mcpmesh:info"

// nodeTokens mints this node's tokens for calls to peers (from the shared
// secret), one per audience, and renews them well before they expire. A
// token names the node it is for (aud) and has the least scope its calls
// need: mcp for links, forwarded calls and /api/federation/info, admin
// only for the keyring fan-out. A token that reaches a wrong URL (a
// mistyped peer URL, a URL a member gossips) is good on no other node.
type nodeTokens struct {
	secret  []byte
	subject string
	scope   string // scopeMCP or scopeAdmin
	// where returns the URL a member gossips: a token naming a member is
	// sent there only (forNode). nil checks nothing (tests).
	where func(member string) (string, bool)

	mu     sync.Mutex
	minted map[string]mintedToken // by audience
}

type mintedToken struct {
	token   string
	renewAt time.Time
}

func newNodeTokens(secret []byte, self, scope string) *nodeTokens {
	return &nodeTokens{secret: secret, subject: NodeSubjectPrefix + self, scope: scope, minted: map[string]mintedToken{}}
}

// get returns the token for the node named aud (or audInfo).
func (t *nodeTokens) get(aud string) (string, error) { return t.getFor(aud, nil) }

// getFor returns the token for the node named aud that names caller (none
// when nil); tokens are kept per audience and caller until half-life.
func (t *nodeTokens) getFor(aud string, caller *Caller) (string, error) {
	key := aud + caller.key()
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.minted[key]; ok && time.Now().Before(m.renewAt) {
		return m.token, nil
	}
	now := time.Now()
	claims := nodeClaims{Scope: t.scope, Caller: caller, RegisteredClaims: jwt.RegisteredClaims{
		Subject: t.subject, Audience: jwt.ClaimStrings{aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(nodeTokenTTL)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("mint node token: %w", err)
	}
	if len(t.minted) > 4096 { // members and callers come and go; keep the map bounded
		clear(t.minted)
	}
	t.minted[key] = mintedToken{token: tok, renewAt: now.Add(nodeTokenTTL / 2)}
	return tok, nil
}

// errTokenWithheld is the error of a request that would have carried a
// member's node token anywhere but the address that member gossips.
var errTokenWithheld = errors.New("node token withheld")

// forNode returns the token for the node named aud, to be sent to target:
// a token naming a member goes only to the scheme, host and port of the URL
// that member gossips, never to an address an admin or a URL's own answer
// gave; audInfo (good for /api/federation/info only) goes anywhere.
func (t *nodeTokens) forNode(aud string, target *url.URL) (string, error) {
	return t.forNodeAs(aud, target, nil)
}

// forNodeAs is forNode for a token that names caller (see Caller).
func (t *nodeTokens) forNodeAs(aud string, target *url.URL, caller *Caller) (string, error) {
	if aud != audInfo && t.where != nil {
		if err := t.checkTarget(aud, target); err != nil {
			return "", err
		}
	}
	return t.getFor(aud, caller)
}

// checkTarget refuses a target that is not where member says it is.
func (t *nodeTokens) checkTarget(member string, target *url.URL) error {
	gossiped, ok := t.where(member)
	if !ok {
		return fmt.Errorf("%w: %q is not a ring member gossiping a url, so no token for it goes to %s", errTokenWithheld, member, target.Host)
	}
	if g, err := url.Parse(gossiped); err != nil || !sameOrigin(g, target) {
		return fmt.Errorf("%w: %s://%s is not the address %q gossips (%s)", errTokenWithheld, target.Scheme, target.Host, member, gossiped)
	}
	return nil
}

// sameOrigin reports whether two URLs have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && urlPort(a) == urlPort(b)
}

// CheckNodeAudience refuses a node token (subject "node:<name>") that is
// not for this node, self: its audience must name this node, or be audInfo
// on GET /api/federation/info (route). Other tokens (people's, from
// `mcpmesh token`) carry no such claim and pass.
func CheckNodeAudience(subject string, audience []string, self, route string) error {
	if !strings.HasPrefix(subject, NodeSubjectPrefix) {
		return nil
	}
	if slices.Contains(audience, self) || (slices.Contains(audience, audInfo) && route == "/api/federation/info") {
		return nil
	}
	return fmt.Errorf("node token of %s is for %s, not for this node (%s) and this route", subject,
		strings.Join(audience, ","), self)
}

// audienceKey carries, in a request's context, the node it is sent to.
type audienceKey struct{}

// ToNode marks ctx's requests (through HTTPClient or AdminClient) as sent
// to the node named member: they carry a token for that node, and only to
// the address it gossips.
func ToNode(ctx context.Context, member string) context.Context {
	return context.WithValue(ctx, audienceKey{}, member)
}

// tokenTransport adds this node's token for the request's target node (the
// context's ToNode, else aud, else audInfo) and the forwarded mark.
type tokenTransport struct {
	tokens *nodeTokens
	from   string
	aud    string
	base   http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	aud, _ := r.Context().Value(audienceKey{}).(string)
	aud = first(aud, t.aud, audInfo)
	tok, err := t.tokens.forNode(aud, r.URL)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set(HeaderForwarded, t.from)
	return t.base.RoundTrip(r)
}

// CloseIdleConnections closes the base transport's idle connections, so
// (*http.Client).CloseIdleConnections reaches them through this wrapper.
func (t *tokenTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// first returns the first non-empty string.
func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
