package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signed builds a token with any method and claims, for the refusal cases
// MintToken cannot produce.
func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "a@example.com", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
}

func withClaim(k string, v any) jwt.MapClaims {
	c := validClaims()
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestAuth(t *testing.T) {
	n := startNode(t, nodeOptions{})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.SigningMethodHS256
	key := []byte(testSecret)
	cases := []struct {
		name, method, path, header string
		want                       int
		errHas                     string
	}{
		{"no header", "GET", "/api/servers", "", 401, "missing Authorization"},
		{"not bearer", "GET", "/api/servers", "Basic YWRtaW46YWRtaW4=", 401, "Bearer <token>"},
		{"empty bearer", "GET", "/api/servers", "Bearer ", 401, "Bearer <token>"},
		{"garbage", "GET", "/api/servers", "Bearer not.a.jwt", 401, "malformed"},
		{"expired", "GET", "/api/servers", "Bearer " + signed(t, hs, key, withClaim("exp", time.Now().Add(-time.Minute).Unix())), 401, "expired"},
		{"no exp", "GET", "/api/servers", "Bearer " + signed(t, hs, key, withClaim("exp", nil)), 401, "exp"},
		{"alg none", "POST", "/mcp", "Bearer " + signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims()), 401, "only HS256"},
		{"HS512", "GET", "/api/servers", "Bearer " + signed(t, jwt.SigningMethodHS512, key, validClaims()), 401, "only HS256"},
		{"RS256", "GET", "/api/servers", "Bearer " + signed(t, jwt.SigningMethodRS256, rsaKey, validClaims()), 401, "only HS256"},
		{"wrong secret", "GET", "/api/servers", "Bearer " + mint(t, strings.Repeat("x", 32), ""), 401, "signature"},
		{"mcp scope on management", "GET", "/api/servers", "Bearer " + mint(t, testSecret, ScopeMCP), 403, "needs scope \"admin\""},
		{"unknown scope on mcp", "POST", "/mcp", "Bearer " + signed(t, hs, key, withClaim("scope", "reader")), 403, "needs scope \"mcp\""},
		{"mcp scope on mcp", "POST", "/mcp", "Bearer " + mint(t, testSecret, ScopeMCP), 200, ""},
		{"mcp scope on mcp/http", "POST", "/mcp/http", "Bearer " + mint(t, testSecret, ScopeMCP), 200, ""},
		{"mcp scope on api/tools", "GET", "/api/tools", "Bearer " + mint(t, testSecret, ScopeMCP), 200, ""},
		{"no scope is admin", "GET", "/api/servers", "Bearer " + signed(t, hs, key, validClaims()), 200, ""},
		{"admin scope", "GET", "/api/servers", "Bearer " + n.admin, 200, ""},
		{"several scopes", "GET", "/api/servers", "Bearer " + signed(t, hs, key, withClaim("scope", "mcp admin")), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body string
			if tc.method == "POST" {
				body = toolsListBody
			}
			req, _ := http.NewRequest(tc.method, n.srv.URL+tc.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := send(t, req)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d; body %s", r.code, tc.want, r.body)
			}
			checkAuthAnswer(t, r, tc.want, tc.errHas)
		})
	}
}

func checkAuthAnswer(t *testing.T, r response, code int, errHas string) {
	t.Helper()
	if code < 400 {
		return
	}
	if msg := r.errorText(t); !strings.Contains(msg, errHas) {
		t.Errorf("error %q does not mention %q", msg, errHas)
	}
	challenge := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", challenge)
	}
	wantCode := map[int]string{401: `error="invalid_token"`, 403: `error="insufficient_scope"`}[code]
	if errHas != "missing Authorization" && !strings.Contains(challenge, wantCode) {
		t.Errorf("WWW-Authenticate = %q, want %s", challenge, wantCode)
	}
}

func TestMintToken(t *testing.T) {
	cases := []struct {
		name, secret, subject, scope string
		ttl                          time.Duration
		errHas                       string
	}{
		{"default scope is admin", testSecret, "a", "", time.Hour, ""},
		{"mcp scope", testSecret, "a", ScopeMCP, time.Hour, ""},
		{"short secret", "short", "a", "", time.Hour, "at least 32"},
		{"no subject", testSecret, "", "", time.Hour, "subject"},
		{"bad scope", testSecret, "a", "root", time.Hour, "scope"},
		{"zero ttl", testSecret, "a", "", 0, "positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := MintToken([]byte(tc.secret), tc.subject, tc.scope, tc.ttl)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.errHas)
				}
				return
			}
			checkMinted(t, tok, tc.subject, tc.scope, tc.ttl)
		})
	}
}

func checkMinted(t *testing.T, tok, subject, scope string, ttl time.Duration) {
	t.Helper()
	c, err := ParseToken([]byte(testSecret), tok)
	if err != nil {
		t.Fatal(err)
	}
	if scope == "" {
		scope = ScopeAdmin
	}
	if c.Subject != subject || c.Scope != scope || c.IssuedAt == nil {
		t.Errorf("claims = %+v, want sub %q scope %q and iat", c, subject, scope)
	}
	if d := time.Until(c.ExpiresAt.Time); d > ttl || d < ttl-time.Minute {
		t.Errorf("expires in %v, want about %v", d, ttl)
	}
	if h := strings.Split(tok, ".")[0]; h != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" {
		t.Errorf("header %q is not {alg: HS256, typ: JWT}", h)
	}
}

func TestNewRefusesShortSecret(t *testing.T) {
	_, err := New(Config{Name: "n", Secret: []byte("too-short"), Store: nil})
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("err = %v, want the short secret refused", err)
	}
}
