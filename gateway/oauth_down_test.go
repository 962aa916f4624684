package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestOAuthIssuerDown: while the OAuth issuer cannot be reached, a token
// that needs it is answered 503 with Retry-After (it may be good: a 401
// would send an MCP client to log in again), a request with no token still
// gets the 401 challenge, and the node's own HS256 tokens keep working.
func TestOAuthIssuerDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	issuer := down.URL
	down.Close() // nothing listens there any more
	n := startNode(t, nodeOptions{oauth: &OAuthConfig{Issuer: issuer, ClientID: "rs", ClientSecret: "s"}})

	for _, tc := range []struct{ name, token string }{
		{"JWT access token", es256Token(t, issuer)},
		{"opaque access token", "an-opaque-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, http.MethodGet, "/api/servers", tc.token, "")
			if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "5" {
				t.Fatalf("%d, Retry-After %q: want 503 with Retry-After 5 (%s)", r.code, r.header.Get("Retry-After"), r.body)
			}
			if msg := r.errorText(t); !strings.Contains(msg, "cannot be reached") || !strings.Contains(msg, issuer) {
				t.Fatalf("error %q, want one saying the issuer %s cannot be reached", msg, issuer)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		r := n.do(t, http.MethodGet, "/api/servers", "", "")
		if r.code != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Fatalf("%d %q: want 401 with the resource_metadata challenge", r.code, r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("the node's own token", func(t *testing.T) {
		if r := n.do(t, http.MethodGet, "/api/servers", n.admin, ""); r.code != http.StatusOK {
			t.Fatalf("%d %s: want 200 while the issuer is down", r.code, r.body)
		}
	})
}

// es256Token is a JWT access token that names issuer, signed by a key of
// its own (never checked here: the issuer's key set cannot be fetched).
func es256Token(t *testing.T, issuer string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": issuer, "sub": "u",
		"aud": "http://127.0.0.1:1", "scope": "mcpmesh:admin", "exp": time.Now().Add(time.Hour).Unix()})
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
