package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// authServerMeta is what the node reads of the issuer's metadata (OpenID
// Connect Discovery or RFC 8414).
type authServerMeta struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// discovery finds the issuer's metadata once, on first need: a failure is
// remembered for oauthDiscoveryRetry, so a down issuer costs one request
// per few seconds, not one per token.
type discovery struct {
	issuer string
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	meta     *authServerMeta
	err      error
	failedAt time.Time
}

func newDiscovery(issuer string, client *http.Client) *discovery {
	return &discovery{issuer: issuer, client: client, now: time.Now}
}

// errIssuerDown marks a failure to get an answer from the OAuth issuer
// (its metadata, its key set, an introspection): the token may well be
// good, so the caller gets 503 with Retry-After, not a 401 that would send
// an MCP client to log in again (authenticate).
var errIssuerDown = errors.New("the oauth issuer cannot be reached")

// issuerDown wraps err, a failure to reach the issuer at what.
func issuerDown(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", errIssuerDown, what, err)
}

// get returns the issuer's metadata, fetching it if not yet known.
func (d *discovery) get(ctx context.Context) (*authServerMeta, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.meta != nil {
		return d.meta, nil
	}
	if d.err != nil && d.now().Sub(d.failedAt) < oauthDiscoveryRetry {
		return nil, d.err
	}
	m, err := d.fetch(ctx)
	if err != nil {
		d.err, d.failedAt = issuerDown(d.issuer, err), d.now()
		return nil, d.err
	}
	d.meta, d.err = m, nil
	return m, nil
}

// fetch tries OpenID Connect Discovery, then RFC 8414's well-known URL.
func (d *discovery) fetch(ctx context.Context) (*authServerMeta, error) {
	var errs []error
	for _, u := range wellKnownURLs(d.issuer) {
		m, err := d.fetchOne(ctx, u)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (d *discovery) fetchOne(ctx context.Context, u string) (*authServerMeta, error) {
	var m authServerMeta
	if err := getJSON(ctx, d.client, u, &m); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimRight(m.Issuer, "/") != strings.TrimRight(d.issuer, "/"):
		return nil, fmt.Errorf("%s names issuer %q, not %q", u, m.Issuer, d.issuer)
	case m.JWKSURI == "" && m.IntrospectionEndpoint == "":
		return nil, fmt.Errorf("%s names neither a jwks_uri nor an introspection_endpoint", u)
	}
	return &m, nil
}

// wellKnownURLs are the metadata URLs of issuer: OpenID Connect's (path
// appended) and RFC 8414's (path after the well-known part).
func wellKnownURLs(issuer string) []string {
	iss := strings.TrimRight(issuer, "/")
	urls := []string{iss + "/.well-known/openid-configuration"}
	if u, err := url.Parse(iss); err == nil {
		path := u.Path
		u.Path = "/.well-known/oauth-authorization-server" + path
		urls = append(urls, u.String())
	}
	return urls
}

// getJSON GETs u and decodes its JSON answer (at most maxOAuthDocBytes).
func getJSON(ctx context.Context, client *http.Client, u string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, oauthHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	return decodeOAuthAnswer(resp, u, into)
}

func decodeOAuthAnswer(resp *http.Response, u string, into any) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxOAuthDocBytes)).Decode(into); err != nil {
		return fmt.Errorf("%s: bad JSON: %w", u, err)
	}
	return nil
}
