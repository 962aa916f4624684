package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// DevSecret is the fixed JWT secret of development mode (`serve --dev`,
// `token` without a secret). It is public: never use it outside a laptop.
const DevSecret = "mcpmesh-development-only-secret-do-not-use-in-production"

// MinSecretLen is the shortest JWT secret accepted, in bytes.
const MinSecretLen = 32

// Token scopes. A token without a scope claim counts as ScopeAdmin.
const (
	ScopeAdmin = "admin" // management routes and MCP
	ScopeMCP   = "mcp"   // MCP only
)

// Claims are the JWT claims mcpmesh issues and reads.
type Claims struct {
	Scope  string   `json:"scope,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Caller, in a node token only, names the principal a forwarded
	// request is made for: the request is served as that principal.
	Caller *federation.Caller `json:"mcpmesh_caller,omitempty"`
	jwt.RegisteredClaims
	// fromOAuth marks a token of the OAuth issuer; oauthScope is its own
	// scope claim (Scope holds the roles it maps to).
	fromOAuth  bool
	oauthScope string
}

const claimsKey = "mcpmesh.claims"

// CheckSecret refuses a JWT secret shorter than MinSecretLen bytes.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("jwt secret is %d bytes, at least %d are required", len(secret), MinSecretLen)
	}
	return nil
}

// MintToken returns an HS256 JWT for subject with sub, iat, exp and scope
// claims. An empty scope means ScopeAdmin; any scope other than admin or mcp
// is refused, as are a short secret, an empty subject and a ttl <= 0.
func MintToken(secret []byte, subject, scope string, ttl time.Duration) (string, error) {
	return MintTokenGroups(secret, subject, scope, ttl, nil)
}

// MintTokenGroups is MintToken with a groups claim (omitted when empty);
// an empty group name is refused.
func MintTokenGroups(secret []byte, subject, scope string, ttl time.Duration, groups []string) (string, error) {
	if slices.Contains(groups, "") {
		return "", errors.New("mint token: a group name (--group) is empty")
	}
	if scope == "" {
		scope = ScopeAdmin
	}
	switch {
	case CheckSecret(secret) != nil:
		return "", fmt.Errorf("mint token: %w", CheckSecret(secret))
	case subject == "":
		return "", errors.New("mint token: subject (username) is required")
	case scope != ScopeAdmin && scope != ScopeMCP:
		return "", fmt.Errorf("mint token: scope %q is not one of admin, mcp", scope)
	case ttl <= 0:
		return "", fmt.Errorf("mint token: expiry %s must be positive", ttl)
	}
	now := time.Now()
	claims := Claims{Scope: scope, Groups: groups, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// ParseToken verifies an HS256 token with secret: signature, algorithm and
// an exp claim in the future. The error says what was wrong.
func ParseToken(secret []byte, token string) (*Claims, error) {
	return parseTokenAt(secret, token, time.Now)
}

// parseTokenAt is ParseToken with the time claims checked against now().
func parseTokenAt(secret []byte, token string, now func() time.Time) (*Claims, error) {
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(now),
	)
	if err == nil {
		return claims, nil
	}
	// Only a refused token is parsed again, to name a wrong algorithm.
	if unverified, _, perr := jwt.NewParser().ParseUnverified(token, &Claims{}); perr == nil {
		if alg := unverified.Method.Alg(); alg != jwt.SigningMethodHS256.Alg() {
			return nil, fmt.Errorf("token signing method %q is not allowed: only HS256 is accepted", alg)
		}
	}
	return nil, tokenError(err)
}

func tokenError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errors.New("token is malformed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errors.New("token signature is invalid")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("token cannot be verified: %w", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errors.New("token has no exp claim: an expiry is required")
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("token has expired")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return errors.New("token is not valid yet")
	}
	return fmt.Errorf("token is invalid: %w", err)
}

// scopes returns the rights a token's scope claim grants: a missing claim
// is admin; a claim may list several space-separated scopes.
func (c *Claims) scopes() []string {
	if strings.TrimSpace(c.Scope) == "" {
		return []string{ScopeAdmin}
	}
	return strings.Fields(c.Scope)
}

// Allows reports whether the token grants need (ScopeAdmin or ScopeMCP);
// admin implies mcp.
func (c *Claims) Allows(need string) bool {
	s := c.scopes()
	return slices.Contains(s, ScopeAdmin) || slices.Contains(s, need)
}

// authenticate checks the bearer token and that it grants scope need. It
// answers 401 (bad or missing token) or 403 (scope) and aborts.
func (g *Gateway) authenticate(need string) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, err := g.bearer(c.Request)
		if err == nil {
			err = federation.CheckNodeAudience(claims.Subject, claims.Audience, g.name, c.FullPath())
		}
		if err == nil {
			err = checkCaller(claims)
		}
		if errors.Is(err, errIssuerDown) {
			g.issuerUnavailable(c, err)
			return
		}
		if err != nil {
			g.unauthorized(c, err, need)
			return
		}
		markAuthenticated(c.Request.Context()) // its connection leaves the unauthenticated cap
		c.Set(claimsKey, claims)               // also for the audit line of a refused write
		if !claims.Allows(need) {
			g.forbidden(c, claims, need)
			return
		}
		ctx := mcp.WithPrincipal(c.Request.Context(), principalOf(claims))
		if claims.Caller != nil { // checkCaller: only in a node token
			ctx = mcp.WithRelayed(ctx)
		}
		ctx = withRuleContext(ctx, claims)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// principalOf is who the token speaks for, to the MCP server: its issuer,
// subject and groups; a node token (sub "node:<name>", checked by
// federation.CheckNodeAudience) is a Node, whose sessions have their own
// budget, unless it names the caller of a forwarded request: then it
// speaks for that caller.
func principalOf(c *Claims) mcp.Principal {
	if c.Caller != nil {
		return c.Caller.Principal()
	}
	return mcp.Principal{Issuer: c.Issuer, Subject: c.Subject, Groups: mcp.JoinGroups(c.Groups),
		Node: isNodeToken(c)}
}

// withRuleContext marks what the access rules need of the token: admin
// scope and node requests naming no caller (catalog pulls) are not
// restricted; a node request naming a caller is judged as that caller, by
// the canonical name the sending node asserts.
func withRuleContext(ctx context.Context, c *Claims) context.Context {
	switch {
	case c.Caller != nil:
		if c.Caller.Admin {
			ctx = federation.WithUnrestricted(ctx)
		}
		if c.Caller.Name != "" {
			ctx = federation.WithAsserted(ctx, c.Caller.Name)
		}
		return ctx
	case isNodeToken(c) || c.Allows(ScopeAdmin):
		return federation.WithUnrestricted(ctx)
	}
	return ctx
}

func isNodeToken(c *Claims) bool {
	return c.Issuer == "" && strings.HasPrefix(c.Subject, federation.NodeSubjectPrefix)
}

// checkCaller refuses a caller claim anywhere but in a node token (whose
// audience CheckNodeAudience has checked), and one that names nobody.
func checkCaller(c *Claims) error {
	switch {
	case c.Caller == nil:
		return nil
	case !isNodeToken(c):
		return fmt.Errorf("token of %q names a caller (mcpmesh_caller): only a node token may", c.Subject)
	case c.Caller.Subject == "":
		return fmt.Errorf("node token of %s names a caller without a subject (mcpmesh_caller.sub)", c.Subject)
	}
	return nil
}

// errNoToken marks a request with no credentials at all (RFC 6750 §3.1: no
// error code in the challenge).
var errNoToken = errors.New("missing Authorization header: send Authorization: Bearer <token>")

func (g *Gateway) bearer(r *http.Request) (*Claims, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoToken
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errors.New("authorization header must be of the form: Bearer <token>")
	}
	return g.tokens.parse(r.Context(), strings.TrimSpace(tok))
}
