package gateway

import (
	"sync"
	"time"
)

// refusedTokens remembers, for a short while, the opaque tokens the issuer's
// introspection refused (inactive, another issuer's, a wrong audience), so a
// client that keeps retrying a revoked token costs the issuer one request
// per oauthRefusedCacheTime, not one per request. Bounded: at
// maxRefusedTokens it starts over. Failures to reach the issuer are not
// remembered (the token may be good).
type refusedTokens struct {
	mu  sync.Mutex
	m   map[string]tokenRefusal
	now func() time.Time
}

type tokenRefusal struct {
	until time.Time
	err   error
}

const (
	oauthRefusedCacheTime = 10 * time.Second
	maxRefusedTokens      = 10_000
)

func newRefusedTokens() *refusedTokens {
	return &refusedTokens{m: map[string]tokenRefusal{}, now: time.Now}
}

// get is the remembered tokenRefusal of token, if it is still current.
func (r *refusedTokens) get(token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.m[token]; ok && r.now().Before(f.until) {
		return f.err
	}
	return nil
}

func (r *refusedTokens) add(token string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= maxRefusedTokens {
		clear(r.m)
	}
	r.m[token] = tokenRefusal{until: r.now().Add(oauthRefusedCacheTime), err: err}
}
