package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of OAuthConfig.
const (
	DefaultOAuthAdminScope   = "mcpmesh:admin"
	DefaultOAuthMCPScope     = "mcpmesh:mcp"
	DefaultOAuthGroupsClaim  = "groups"
	oauthLeeway              = 30 * time.Second // clock skew allowed on exp and nbf
	oauthHTTPTimeout         = 5 * time.Second  // one discovery, JWKS or introspection request
	oauthDiscoveryRetry      = 5 * time.Second  // a failed discovery is not tried again sooner
	oauthJWKSRefresh         = 10 * time.Minute // the JWKS is fetched again this often
	oauthUnknownKIDEvery     = 10 * time.Second // at most one JWKS refetch for an unknown kid this often
	oauthIntrospectCacheTime = time.Minute      // an introspected token is remembered at most this long
	maxOAuthDocBytes         = 1 << 20          // a discovery, JWKS or introspection answer
	maxOpaqueTokenBytes      = 8 << 10          // a longer opaque token is refused without asking the issuer
)

// OAuthConfig makes the gateway an OAuth 2.1 resource server (--oauth-*):
// access tokens of Issuer are accepted beside the built-in HS256 ones.
type OAuthConfig struct {
	// Issuer is the authorization server's issuer URL (--oauth-issuer).
	Issuer string
	// Audiences are the resources a token must be for (--oauth-audience);
	// the first is the resource of the metadata document. Default: the
	// advertised URL with and without /mcp.
	Audiences []string
	// AdminScope and MCPScope are the OAuth scopes that grant the admin
	// and mcp roles (defaults DefaultOAuthAdminScope, DefaultOAuthMCPScope).
	AdminScope, MCPScope string
	// GroupsClaim names the claim holding the caller's groups (default
	// DefaultOAuthGroupsClaim): an array of strings, a string, or an
	// object whose keys are the groups (Zitadel's project roles).
	GroupsClaim string
	// ClientID and ClientSecret, both or neither, let the node introspect
	// opaque access tokens (RFC 7662) at the issuer's introspection
	// endpoint.
	ClientID, ClientSecret string
	// HTTPClient reaches the issuer (default a client with a timeout).
	HTTPClient *http.Client
}

// withDefaults fills the defaults; advertised is the node's URL.
func (o OAuthConfig) withDefaults(advertised string) OAuthConfig {
	o.Issuer = strings.TrimSpace(o.Issuer)
	if len(o.Audiences) == 0 && advertised != "" {
		base := strings.TrimRight(advertised, "/")
		o.Audiences = []string{base, base + "/mcp"}
	}
	o.AdminScope = orDefault(o.AdminScope, DefaultOAuthAdminScope)
	o.MCPScope = orDefault(o.MCPScope, DefaultOAuthMCPScope)
	o.GroupsClaim = orDefault(o.GroupsClaim, DefaultOAuthGroupsClaim)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: oauthHTTPTimeout}
	}
	return o
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// check names every wrong setting.
func (o OAuthConfig) check() error {
	var errs []error
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("oauth issuer %q must be an absolute http or https URL", o.Issuer))
	}
	if len(o.Audiences) == 0 {
		errs = append(errs, errors.New("oauth audience is required when there is no advertise url"))
	}
	if slices.Contains(o.Audiences, "") {
		errs = append(errs, errors.New("oauth audience list has an empty entry"))
	}
	if (o.ClientID == "") != (o.ClientSecret == "") {
		errs = append(errs, errors.New("oauth client id and client secret must be given together (for token introspection)"))
	}
	if o.AdminScope == o.MCPScope {
		errs = append(errs, fmt.Errorf("oauth admin scope and mcp scope are both %q: they must differ", o.MCPScope))
	}
	return errors.Join(errs...)
}

// oauth verifies the access tokens of one issuer: JWTs with its JWKS
// (oauth_jwt.go), opaque ones by introspection (oauth_introspect.go).
type oauth struct {
	cfg  OAuthConfig
	log  *slog.Logger
	disc *discovery
	jwks jwks
	ctx  context.Context // the JWKS refresh runs until it ends (the gateway's Close)
	// refused are the opaque tokens introspection refused lately.
	refused *refusedTokens
}

func newOAuth(ctx context.Context, cfg OAuthConfig, log *slog.Logger) *oauth {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &oauth{cfg: cfg, log: log, ctx: ctx, disc: newDiscovery(cfg.Issuer, cfg.HTTPClient), refused: newRefusedTokens()}
}

// claimsFrom maps a verified token's claims to the gateway's: the OAuth
// scopes become the admin and mcp roles (a token with neither gets a scope
// that allows nothing, refused with 403), sub, iss and the groups claim
// become the principal.
func (o *oauth) claimsFrom(iss, sub, scope string, groups []string) *Claims {
	c := &Claims{Groups: groups, oauthScope: scope, fromOAuth: true}
	c.Issuer, c.Subject = iss, sub
	var roles []string
	fields := strings.Fields(scope)
	if slices.Contains(fields, o.cfg.AdminScope) {
		roles = append(roles, ScopeAdmin)
	}
	if slices.Contains(fields, o.cfg.MCPScope) {
		roles = append(roles, ScopeMCP)
	}
	if len(roles) == 0 {
		roles = []string{"none"}
	}
	c.Scope = strings.Join(roles, " ")
	return c
}

// scopeFor is the OAuth scope that grants role need.
func (o *oauth) scopeFor(need string) string {
	if need == ScopeAdmin {
		return o.cfg.AdminScope
	}
	return o.cfg.MCPScope
}

// checkAudience reports whether aud names one of the node's audiences
// (a trailing slash aside); extra, when set, also counts (the introspecting
// client's id).
func (o *oauth) checkAudience(aud []string, extra string) error {
	for _, a := range aud {
		if extra != "" && a == extra {
			return nil
		}
		for _, want := range o.cfg.Audiences {
			if strings.TrimRight(a, "/") == strings.TrimRight(want, "/") {
				return nil
			}
		}
	}
	return fmt.Errorf("token audience %q is not this resource: it must name one of %q", aud, o.cfg.Audiences)
}

// groupsOf reads the groups claim: an array of strings, one string, or an
// object whose keys are the groups; anything else is no groups.
func groupsOf(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		var out []string
		for _, e := range g {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case map[string]any:
		out := make([]string, 0, len(g))
		for k := range g {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return nil
}
