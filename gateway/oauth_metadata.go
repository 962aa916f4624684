package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// ProtectedResourcePath is where the node serves its OAuth protected
// resource metadata (RFC 9728), also with a resource's path appended
// (/.well-known/oauth-protected-resource/mcp), as MCP clients ask.
const ProtectedResourcePath = "/.well-known/oauth-protected-resource"

// protectedResource is the RFC 9728 document: the resource (the first
// audience), its authorization server (the issuer) and the scopes.
type protectedResource struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

// serveProtectedResource answers GET /.well-known/oauth-protected-resource
// (no token needed; any origin may read it).
func (g *Gateway) serveProtectedResource(c *gin.Context) {
	c.Header("Access-Control-Allow-Origin", "*")
	o := g.tokens.oauth.cfg
	c.JSON(http.StatusOK, protectedResource{
		Resource: o.Audiences[0], AuthorizationServers: []string{o.Issuer},
		ScopesSupported:        []string{o.MCPScope, o.AdminScope},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "mcpmesh " + g.name,
	})
}

// routeProtectedResource serves the metadata when the node has an issuer.
func (g *Gateway) routeProtectedResource(r *gin.Engine) {
	if g.tokens.oauth == nil {
		return
	}
	r.GET(ProtectedResourcePath, g.serveProtectedResource)
	r.GET(ProtectedResourcePath+"/*resource", g.serveProtectedResource)
}

// resourceMetadataURL is the metadata's URL as clients reach it: on the
// first audience's origin, with its path appended (RFC 9728 §3.1), or on
// the advertised URL when the first audience is not an http(s) URL.
func (g *Gateway) resourceMetadataURL() string {
	aud := g.tokens.oauth.cfg.Audiences[0]
	u, err := url.Parse(aud)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return strings.TrimRight(g.url, "/") + ProtectedResourcePath
	}
	return u.Scheme + "://" + u.Host + ProtectedResourcePath + strings.TrimRight(u.Path, "/")
}

// unauthorized answers 401 with a Bearer challenge (RFC 6750): the error
// for a bad token (none for a missing one), and with an OAuth issuer the
// metadata's URL and the scope the route needs, so MCP clients find the
// authorization server by themselves.
func (g *Gateway) unauthorized(c *gin.Context, err error, need string) {
	challenge := `Bearer realm="mcpmesh"`
	if o := g.tokens.oauth; o != nil {
		challenge += fmt.Sprintf(`, resource_metadata=%q, scope=%q`, g.resourceMetadataURL(), o.scopeFor(need))
	}
	if !errors.Is(err, errNoToken) {
		challenge += fmt.Sprintf(`, error="invalid_token", error_description=%q`, err.Error())
	}
	c.Header("WWW-Authenticate", challenge)
	abortJSON(c, http.StatusUnauthorized, err)
}

// issuerUnavailable answers 503 for a token that could not be checked
// because the OAuth issuer did not answer; discovery is tried again after
// oauthDiscoveryRetry, which Retry-After says.
func (g *Gateway) issuerUnavailable(c *gin.Context, err error) {
	c.Header("Retry-After", strconv.Itoa(int(oauthDiscoveryRetry.Seconds())))
	abortJSON(c, http.StatusServiceUnavailable, err)
}

// forbidden answers 403 for a token whose scope does not grant need.
func (g *Gateway) forbidden(c *gin.Context, claims *Claims, need string) {
	scope, have := need, claims.Scope
	if claims.fromOAuth {
		scope, have = g.tokens.oauth.scopeFor(need), claims.oauthScope
	}
	c.Header("WWW-Authenticate", fmt.Sprintf(`Bearer realm="mcpmesh", error="insufficient_scope", scope=%q`, scope))
	abortJSON(c, http.StatusForbidden, fmt.Errorf("token scope %q does not allow this route: it needs scope %q", have, scope))
}
