package main

import (
	"errors"
	"flag"
	"net/url"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// oauthFlags are the raw --oauth-* values (the OAuth 2.1 resource server).
type oauthFlags struct {
	issuer, audience, adminScope, mcpScope, groupsClaim, clientID, clientSecret string
}

// addOAuthFlags declares the --oauth-* flags (env MCPMESH_OAUTH_*).
func addOAuthFlags(fs *flag.FlagSet, o *oauthFlags) {
	fs.StringVar(&o.issuer, "oauth-issuer", "", "accept access tokens of this OAuth 2.1 / OpenID issuer URL beside the HS256 ones (verified with its JWKS)")
	fs.StringVar(&o.audience, "oauth-audience", "", "comma list of audiences a token must name; the first is the resource of /.well-known/oauth-protected-resource (default the advertised URL with and without /mcp; behind a balancer, the balancer's URL)")
	fs.StringVar(&o.adminScope, "oauth-admin-scope", gateway.DefaultOAuthAdminScope, "OAuth scope that grants the admin role (management routes and MCP)")
	fs.StringVar(&o.mcpScope, "oauth-mcp-scope", gateway.DefaultOAuthMCPScope, "OAuth scope that grants the mcp role (MCP only)")
	fs.StringVar(&o.groupsClaim, "oauth-groups-claim", gateway.DefaultOAuthGroupsClaim, "claim holding the caller's groups, for group: access rules")
	fs.StringVar(&o.clientID, "oauth-client-id", "", "client id this node introspects opaque tokens with (RFC 7662; with --oauth-client-secret)")
	fs.StringVar(&o.clientSecret, "oauth-client-secret", "", "client secret this node introspects opaque tokens with (with --oauth-client-id)")
}

// config is the gateway's OAuth configuration, nil without --oauth-issuer;
// every other --oauth-* flag then is an error (it would do nothing). Its
// errors are usage errors: serve exits 2 naming the flag.
func (o oauthFlags) config() (*gateway.OAuthConfig, error) {
	if o.issuer == "" {
		if o.audience != "" || o.clientID != "" || o.clientSecret != "" {
			return nil, usagef("--oauth-audience, --oauth-client-id and --oauth-client-secret need --oauth-issuer")
		}
		return nil, nil
	}
	var errs []error
	if u, err := url.Parse(o.issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, usagef("--oauth-issuer %q must be an absolute http or https URL", o.issuer))
	}
	if (o.clientID == "") != (o.clientSecret == "") {
		errs = append(errs, usagef("--oauth-client-id and --oauth-client-secret must be given together"))
	}
	if o.adminScope == "" || o.mcpScope == "" || o.adminScope == o.mcpScope {
		errs = append(errs, usagef("--oauth-admin-scope %q and --oauth-mcp-scope %q must be given and differ", o.adminScope, o.mcpScope))
	}
	if o.groupsClaim == "" {
		errs = append(errs, usagef("--oauth-groups-claim must not be empty"))
	}
	return &gateway.OAuthConfig{Issuer: o.issuer, Audiences: splitList(o.audience), AdminScope: o.adminScope,
		MCPScope: o.mcpScope, GroupsClaim: o.groupsClaim, ClientID: o.clientID, ClientSecret: o.clientSecret}, errors.Join(errs...)
}
