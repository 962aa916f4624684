package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// oauthAlgs are the signatures accepted on the issuer's JWTs.
var oauthAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// jwks is the issuer's key set, built on first need from the discovered
// jwks_uri: keyfunc caches it, fetches it again every oauthJWKSRefresh
// and on a kid it does not know, at most once per oauthUnknownKIDEvery
// (a token with a made-up kid waits at most oauthHTTPTimeout).
type jwks struct {
	mu sync.Mutex
	kf keyfunc.Keyfunc
}

func (o *oauth) keys(ctx context.Context) (keyfunc.Keyfunc, error) {
	o.jwks.mu.Lock()
	defer o.jwks.mu.Unlock()
	if o.jwks.kf != nil {
		return o.jwks.kf, nil
	}
	meta, err := o.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	if meta.JWKSURI == "" {
		return nil, fmt.Errorf("oauth issuer %s publishes no jwks_uri: its JWT access tokens cannot be verified", o.cfg.Issuer)
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(o.ctx, []string{meta.JWKSURI}, keyfunc.Override{
		Client: o.cfg.HTTPClient, HTTPTimeout: oauthHTTPTimeout, RefreshInterval: oauthJWKSRefresh,
		RateLimitWaitMax:  oauthHTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(oauthUnknownKIDEvery), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) { o.log.Warn("oauth: jwks refresh failed", "url", u, "err", err) }
		},
	})
	if err != nil {
		return nil, issuerDown("its key set "+meta.JWKSURI, err)
	}
	o.jwks.kf = kf
	return kf, nil
}

// verifyJWT checks a JWT access token of the issuer: signature by a key of
// its JWKS, iss, aud, exp (required) and nbf.
func (o *oauth) verifyJWT(ctx context.Context, token string) (*Claims, error) {
	kf, err := o.keys(ctx)
	if err != nil {
		return nil, err
	}
	mc := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, mc, kf.KeyfuncCtx(ctx), jwt.WithValidMethods(oauthAlgs),
		jwt.WithIssuer(o.cfg.Issuer), jwt.WithExpirationRequired(), jwt.WithLeeway(oauthLeeway))
	if err != nil {
		return nil, oauthTokenError(err)
	}
	aud, _ := mc.GetAudience()
	if err := o.checkAudience(aud, ""); err != nil {
		return nil, err
	}
	c := o.claimsFromMap(mc)
	c.ExpiresAt, _ = mc.GetExpirationTime()
	c.NotBefore, _ = mc.GetNotBefore()
	return c, nil
}

// claimsFromMap maps a JWT's or an introspection answer's claims.
func (o *oauth) claimsFromMap(mc jwt.MapClaims) *Claims {
	iss, _ := mc.GetIssuer()
	sub, _ := mc.GetSubject()
	scope, _ := mc["scope"].(string)
	if scope == "" { // some issuers use scp, an array
		scope = joinFields(groupsOf(mc["scp"]))
	}
	return o.claimsFrom(iss, sub, scope, groupsOf(mc[o.cfg.GroupsClaim]))
}

func joinFields(s []string) string {
	out := ""
	for i, f := range s {
		if i > 0 {
			out += " "
		}
		out += f
	}
	return out
}

func oauthTokenError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Errorf("token issuer is not the oauth issuer: %w", err)
	case errors.Is(err, keyfunc.ErrKeyfunc):
		return fmt.Errorf("token signing key is not in the oauth issuer's key set: %w", err)
	}
	return tokenError(err)
}
