package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// jwksIssuer is an issuer's discovery document and key set, counting the
// key set's fetches: the provider side of the JWKS client, not a stand-in
// for the provider tests (cmd/mcpmesh/e2e_oauth_test.go).
type jwksIssuer struct {
	srv   *httptest.Server
	keys  *jwkset.MemoryJWKSet
	fetch atomic.Int32
}

func newJWKSIssuer(t *testing.T) *jwksIssuer {
	t.Helper()
	is := &jwksIssuer{keys: jwkset.NewMemoryStorage()}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/keys" {
			is.fetch.Add(1)
			b, _ := is.keys.JSONPublic(r.Context())
			_, _ = w.Write(b)
			return
		}
		_, _ = w.Write([]byte(`{"issuer":"` + is.srv.URL + `","jwks_uri":"` + is.srv.URL + `/keys"}`))
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// add publishes key's public half under kid.
func (is *jwksIssuer) add(t *testing.T, kid string, key crypto.Signer) {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
	if err == nil {
		err = is.keys.KeyWrite(t.Context(), jwk)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (is *jwksIssuer) sign(t *testing.T, m jwt.SigningMethod, kid string, key crypto.Signer, aud string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"iss": is.srv.URL, "sub": "u", "aud": aud, "scope": "mcpmesh:mcp",
		"exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOAuthJWTAlgorithmsAndUnknownKID: ES256 and EdDSA tokens verify with
// the issuer's published keys, fetched once; a token with a kid the set
// lacks makes one refetch, and a second such token right after makes none
// (the refetch is rate-limited) and is refused at once.
func TestOAuthJWTAlgorithmsAndUnknownKID(t *testing.T) {
	is := newJWKSIssuer(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.add(t, "ec1", ec)
	is.add(t, "ed1", ed)
	cfg := OAuthConfig{Issuer: is.srv.URL, HTTPClient: is.srv.Client()}.withDefaults("http://127.0.0.1:8000")
	o := newOAuth(t.Context(), cfg, nil)
	for _, tc := range []struct {
		name, kid string
		m         jwt.SigningMethod
		key       crypto.Signer
	}{{"ES256", "ec1", jwt.SigningMethodES256, ec}, {"EdDSA", "ed1", jwt.SigningMethodEdDSA, ed}} {
		if c, err := o.verifyJWT(t.Context(), is.sign(t, tc.m, tc.kid, tc.key, "http://127.0.0.1:8000/mcp")); err != nil || c.Scope != ScopeMCP {
			t.Fatalf("%s token: %+v, %v; want accepted with scope mcp", tc.name, c, err)
		}
	}
	if n := is.fetch.Load(); n != 1 {
		t.Fatalf("key set fetched %d times for two known keys, want 1", n)
	}
	for i, want := range []int32{2, 2} {
		_, err := o.verifyJWT(t.Context(), is.sign(t, jwt.SigningMethodES256, "unknown", stranger, "http://127.0.0.1:8000"))
		if err == nil || !strings.Contains(err.Error(), "key") {
			t.Fatalf("token %d with an unknown kid: %v, want refused naming the key", i+1, err)
		}
		if n := is.fetch.Load(); n != want {
			t.Fatalf("after unknown-kid token %d the key set was fetched %d times, want %d", i+1, n, want)
		}
	}
}
