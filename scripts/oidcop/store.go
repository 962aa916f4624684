package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const defaultTTL = 5 * time.Minute

// store is the example storage with this provider's service clients and
// the tokens they were given (for introspection) in place of its own.
type store struct {
	*storage.Storage
	clients map[string]*client
	mu      sync.Mutex
	tokens  map[string]*tokenRequest // by token id
}

func newStore(s *storage.Storage) *store {
	return &store{Storage: s, tokens: map[string]*tokenRequest{}, clients: map[string]*client{
		"jwt-client":    {id: "jwt-client", tokenType: op.AccessTokenTypeJWT},
		"opaque-client": {id: "opaque-client", tokenType: op.AccessTokenTypeBearer},
		"mcpmesh":       {id: "mcpmesh", tokenType: op.AccessTokenTypeBearer},
	}}
}

func (s *store) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok || secret != id+"-secret" {
		return nil, errors.New("wrong client id or secret")
	}
	return c, nil
}

// AuthorizeClientIDSecret authenticates the introspecting client.
func (s *store) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.ClientCredentials(ctx, id, secret)
	return err
}

func (s *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	return nil, errors.New("client not found")
}

// tokenRequest is a client credentials request as its scopes shaped it.
type tokenRequest struct {
	subject  string
	audience []string
	scopes   []string
	groups   []string
	ttl      time.Duration
	expires  time.Time
}

func (r *tokenRequest) GetSubject() string     { return r.subject }
func (r *tokenRequest) GetAudience() []string  { return r.audience }
func (r *tokenRequest) GetScopes() []string    { return r.scopes }
func (r *tokenRequest) GetClientID() string    { return r.subject }
func (r *tokenRequest) GetAuthTime() time.Time { return time.Time{} }

func (s *store) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	r := &tokenRequest{subject: "svc-" + id, audience: []string{id}, ttl: defaultTTL}
	for _, sc := range scopes {
		switch k, v, _ := strings.Cut(sc, ":"); k {
		case "aud":
			r.audience = append(r.audience, v)
		case "group":
			r.groups = append(r.groups, v)
		case "ttl":
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, oidc.ErrInvalidScope().WithDescription("bad ttl: " + err.Error())
			}
			r.ttl = d
		default:
			r.scopes = append(r.scopes, sc)
		}
	}
	return r, nil
}

func (s *store) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	r, ok := req.(*tokenRequest)
	if !ok {
		return "", time.Time{}, errors.New("only client credentials tokens are issued")
	}
	id := uuid.NewString()
	r.expires = time.Now().Add(r.ttl)
	s.mu.Lock()
	s.tokens[id] = r
	s.mu.Unlock()
	return id, r.expires, nil
}

// GetPrivateClaimsFromRequest puts the scope (RFC 9068) and the groups
// into JWT access tokens.
func (s *store) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	r, ok := req.(*tokenRequest)
	if !ok {
		return nil, nil
	}
	claims := map[string]any{"scope": strings.Join(r.scopes, " ")}
	if len(r.groups) > 0 {
		claims["groups"] = r.groups
	}
	return claims, nil
}

// SetIntrospectionFromToken answers for tokens it issued and that have not
// expired; any other token is inactive.
func (s *store) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, id, _, _ string) error {
	s.mu.Lock()
	r, ok := s.tokens[id]
	s.mu.Unlock()
	if !ok || time.Now().After(r.expires) {
		return errors.New("token is not active")
	}
	resp.Subject, resp.Audience, resp.Scope = r.subject, r.audience, r.scopes
	resp.Expiration = oidc.FromTime(r.expires)
	if len(r.groups) > 0 {
		resp.Claims = map[string]any{"groups": r.groups}
	}
	return nil
}

// client is a service client: client credentials grant only.
type client struct {
	id        string
	tokenType op.AccessTokenType
}

func (c *client) GetID() string                        { return c.id }
func (c *client) RedirectURIs() []string               { return nil }
func (c *client) PostLogoutRedirectURIs() []string     { return nil }
func (c *client) ApplicationType() op.ApplicationType  { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod          { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType   { return nil }
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return c.tokenType }
func (c *client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *client) DevMode() bool                        { return true }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
