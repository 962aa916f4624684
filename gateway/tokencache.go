package gateway

import (
	"sync"
	"time"
)

// tokenCacheSize bounds the verified tokens a node remembers; when full,
// the cache starts again empty (tokens are few: callers reuse theirs).
const tokenCacheSize = 4096

// tokenCache remembers tokens whose HS256 signature this node verified, so
// a caller (or peer) reusing its token is not verified again on every
// request: the same token under the same secret always verifies alike. Its
// time claims are checked on every hit, so an expired token is refused.
type tokenCache struct {
	secret []byte
	now    func() time.Time
	mu     sync.Mutex
	m      map[string]*Claims
}

func newTokenCache(secret []byte) *tokenCache {
	return &tokenCache{secret: secret, now: time.Now, m: map[string]*Claims{}}
}

// parse is ParseToken, remembered. The Claims returned are shared: callers
// must not modify them.
func (tc *tokenCache) parse(token string) (*Claims, error) {
	tc.mu.Lock()
	claims, ok := tc.m[token]
	tc.mu.Unlock()
	if ok && claims.current(tc.now()) {
		return claims, nil
	}
	claims, err := parseTokenAt(tc.secret, token, tc.now)
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
