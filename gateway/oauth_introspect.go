package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// introspect checks an opaque access token at the issuer's introspection
// endpoint (RFC 7662), authenticated as --oauth-client-id. An active token
// must not name another issuer, and its aud, if any, must name one of the
// node's audiences or the introspecting client (as Zitadel's do). The
// claims' expiry is the token's, cut to oauthIntrospectCacheTime from now:
// the token cache keeps the answer no longer than that.
func (o *oauth) introspect(ctx context.Context, token string) (*Claims, error) {
	if o.cfg.ClientID == "" {
		return nil, errors.New("token is not a JWT, and opaque tokens cannot be checked: the node has no --oauth-client-id for introspection")
	}
	if len(token) > maxOpaqueTokenBytes {
		return nil, fmt.Errorf("token is not a JWT and is %d bytes: opaque tokens over %d bytes are not introspected", len(token), maxOpaqueTokenBytes)
	}
	if err := o.refused.get(token); err != nil {
		return nil, err
	}
	meta, err := o.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	if meta.IntrospectionEndpoint == "" {
		return nil, fmt.Errorf("oauth issuer %s publishes no introspection_endpoint: opaque tokens cannot be checked", o.cfg.Issuer)
	}
	mc, err := o.postIntrospection(ctx, meta.IntrospectionEndpoint, token)
	if err != nil {
		return nil, err
	}
	c, err := o.claimsFromIntrospection(mc)
	if err != nil {
		o.refused.add(token, err)
	}
	return c, err
}

func (o *oauth) postIntrospection(ctx context.Context, endpoint, token string) (jwt.MapClaims, error) {
	ctx, cancel := context.WithTimeout(ctx, oauthHTTPTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token introspection: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, issuerDown("token introspection at "+endpoint, err)
	}
	defer resp.Body.Close()
	mc := jwt.MapClaims{}
	if err := decodeOAuthAnswer(resp, endpoint, &mc); err != nil {
		return nil, issuerDown("token introspection", err)
	}
	return mc, nil
}

func (o *oauth) claimsFromIntrospection(mc jwt.MapClaims) (*Claims, error) {
	if active, _ := mc["active"].(bool); !active {
		return nil, errors.New("token is not active: the oauth issuer's introspection says so (revoked, expired or unknown)")
	}
	iss, _ := mc.GetIssuer()
	if iss != "" && strings.TrimRight(iss, "/") != strings.TrimRight(o.cfg.Issuer, "/") {
		return nil, fmt.Errorf("token issuer %q is not the oauth issuer %q", iss, o.cfg.Issuer)
	}
	if aud, _ := mc.GetAudience(); len(aud) > 0 {
		if err := o.checkAudience(aud, o.cfg.ClientID); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	exp, _ := mc.GetExpirationTime()
	if exp != nil && !now.Before(exp.Add(oauthLeeway)) {
		return nil, errors.New("token has expired")
	}
	c := o.claimsFromMap(mc)
	c.Issuer = o.cfg.Issuer // the principal of every token of this issuer names it alike
	bound := now.Add(oauthIntrospectCacheTime)
	if exp != nil && exp.Before(bound) {
		bound = exp.Time
	}
	c.ExpiresAt = jwt.NewNumericDate(bound)
	return c, nil
}
