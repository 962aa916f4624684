package gateway

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testOAuth(t *testing.T, issuer string) *oauth {
	t.Helper()
	cfg := OAuthConfig{Issuer: issuer, ClientID: "rs", ClientSecret: "s"}.withDefaults("http://127.0.0.1:8000")
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	return newOAuth(t.Context(), cfg, nil)
}

// TestIntrospectionBounded: an introspected token is remembered at most a
// minute, and never past its exp; inactive, foreign or wrong-audience
// answers are refused naming why.
func TestIntrospectionBounded(t *testing.T) {
	o := testOAuth(t, "https://login.example.com")
	now := time.Now()
	cases := []struct {
		name    string
		answer  jwt.MapClaims
		until   time.Time // the latest the cache may keep it
		wantErr string
	}{
		{"long-lived", jwt.MapClaims{"active": true, "sub": "u", "exp": float64(now.Add(time.Hour).Unix())}, now.Add(oauthIntrospectCacheTime + time.Second), ""},
		{"short-lived", jwt.MapClaims{"active": true, "sub": "u", "exp": float64(now.Add(10 * time.Second).Unix())}, now.Add(11 * time.Second), ""},
		{"no exp", jwt.MapClaims{"active": true, "sub": "u"}, now.Add(oauthIntrospectCacheTime + time.Second), ""},
		{"client id as audience", jwt.MapClaims{"active": true, "sub": "u", "aud": "rs"}, now.Add(oauthIntrospectCacheTime + time.Second), ""},
		{"inactive", jwt.MapClaims{"active": false}, time.Time{}, "not active"},
		{"other issuer", jwt.MapClaims{"active": true, "iss": "https://evil.example.com"}, time.Time{}, "not the oauth issuer"},
		{"wrong audience", jwt.MapClaims{"active": true, "aud": []any{"https://elsewhere"}}, time.Time{}, "audience"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := o.claimsFromIntrospection(tc.answer)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ExpiresAt == nil || c.ExpiresAt.After(tc.until) {
				t.Fatalf("claims %+v, %v; want kept no later than %s", c, err, tc.until)
			}
			if c.Issuer != o.cfg.Issuer || c.Subject != "u" {
				t.Fatalf("principal %q %q, want the issuer and u", c.Issuer, c.Subject)
			}
		})
	}
}

// TestDiscoveryRetryBounded: a failed discovery is not tried again for
// oauthDiscoveryRetry, so a down issuer costs one request per few seconds.
func TestDiscoveryRetryBounded(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	d := newDiscovery(srv.URL, srv.Client())
	clock := time.Now()
	d.now = func() time.Time { return clock }
	for range 5 {
		if _, err := d.get(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("discovery of a down issuer: %v, want an error naming its 503", err)
		}
	}
	if n := hits.Load(); n != 2 { // the OpenID and the RFC 8414 URL, once
		t.Fatalf("%d requests for 5 tries within %s, want 2", n, oauthDiscoveryRetry)
	}
	clock = clock.Add(oauthDiscoveryRetry)
	_, _ = d.get(t.Context())
	if n := hits.Load(); n != 4 {
		t.Fatalf("%d requests after %s, want 4 (tried again)", n, oauthDiscoveryRetry)
	}
}

func TestGroupsAndScopes(t *testing.T) {
	o := testOAuth(t, "https://login.example.com")
	for _, tc := range []struct {
		name   string
		claim  any
		groups []string
	}{
		{"array", []any{"a", "b", 3}, []string{"a", "b"}},
		{"string", "a", []string{"a"}},
		{"zitadel roles", map[string]any{"b": map[string]any{}, "a": map[string]any{}}, []string{"a", "b"}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if g := groupsOf(tc.claim); !slices.Equal(g, tc.groups) {
				t.Fatalf("groups %q, want %q", g, tc.groups)
			}
		})
	}
	for scope, want := range map[string]string{"mcpmesh:admin": "admin", "mcpmesh:mcp openid": "mcp",
		"mcpmesh:mcp mcpmesh:admin": "admin mcp", "openid admin": "none"} {
		if c := o.claimsFrom("i", "s", scope, nil); c.Scope != want {
			t.Errorf("scope %q maps to %q, want %q", scope, c.Scope, want)
		}
	}
}

func TestWellKnownURLs(t *testing.T) {
	got := wellKnownURLs("https://login.example.com/tenant/")
	want := []string{"https://login.example.com/tenant/.well-known/openid-configuration",
		"https://login.example.com/.well-known/oauth-authorization-server/tenant"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}
