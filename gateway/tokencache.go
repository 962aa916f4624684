package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenCacheSize bounds the verified tokens a node remembers; when full,
// the cache starts again empty (tokens are few: callers reuse theirs).
const tokenCacheSize = 4096

// tokenCache remembers tokens this node verified (an HS256 signature, an
// OAuth issuer's signature or introspection), so a caller (or peer)
// reusing its token is not verified again on every request: the same token
// under the same secret always verifies alike. Its time claims are checked
// on every hit, so an expired token is refused (an introspected token's
// expiry is cut to a short bound: see oauth.introspect).
type tokenCache struct {
	secret []byte
	now    func() time.Time
	// oauth, when set, verifies the tokens that are not the node's own
	// HS256 ones (verifyToken).
	oauth *oauth
	mu    sync.Mutex
	m     map[string]*Claims
}

func newTokenCache(secret []byte, o *oauth) *tokenCache {
	return &tokenCache{secret: secret, now: time.Now, m: map[string]*Claims{}, oauth: o}
}

// parse is verifyToken, remembered. The Claims returned are shared:
// callers must not modify them.
func (tc *tokenCache) parse(ctx context.Context, token string) (*Claims, error) {
	tc.mu.Lock()
	claims, ok := tc.m[token]
	tc.mu.Unlock()
	if ok && claims.current(tc.now()) {
		return claims, nil
	}
	claims, err := tc.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	tc.mu.Lock()
	if len(tc.m) >= tokenCacheSize {
		clear(tc.m)
	}
	tc.m[token] = claims
	tc.mu.Unlock()
	return claims, nil
}

// current reports whether claims' exp is after now and nbf, if any, is not.
func (c *Claims) current(now time.Time) bool {
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Time) {
		return false
	}
	return c.NotBefore == nil || !now.Before(c.NotBefore.Time)
}

// verify checks one bearer token: the node's own HS256 tokens with the
// shared secret, other JWTs with the OAuth issuer's keys, anything else
// (an opaque token) by introspection; without an OAuth issuer, HS256 only.
// An HS256 token claiming the OAuth issuer is refused: only the issuer's
// keys speak for it.
func (tc *tokenCache) verify(ctx context.Context, token string) (*Claims, error) {
	if tc.oauth == nil {
		return parseTokenAt(tc.secret, token, tc.now)
	}
	alg, isJWT := jwtAlg(token)
	switch {
	case isJWT && alg == jwt.SigningMethodHS256.Alg():
		c, err := parseTokenAt(tc.secret, token, tc.now)
		if err == nil && sameURL(c.Issuer, tc.oauth.cfg.Issuer) {
			return nil, fmt.Errorf("HS256 token claims the oauth issuer %q: tokens of that issuer must be signed with its keys", c.Issuer)
		}
		return c, err
	case isJWT:
		return tc.oauth.verifyJWT(ctx, token)
	}
	return tc.oauth.introspect(ctx, token)
}

// jwtAlg is the alg of token's header, if token is a signed JWT (three
// parts, a header that decodes); a JWE or anything else is not.
func jwtAlg(token string) (string, bool) {
	if strings.Count(token, ".") != 2 {
		return "", false
	}
	t, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil || t.Method == nil {
		return "", false
	}
	return t.Method.Alg(), true
}

func sameURL(a, b string) bool {
	return a != "" && strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}
