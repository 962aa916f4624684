package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// mintToken signs claims with method and key, for tokens `mcpmesh token`
// would never make.
func mintToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

func claims(sub string, exp time.Duration, scope string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(exp).Unix()}
	if scope != "" {
		c["scope"] = scope
	}
	return c
}

func TestAuth(t *testing.T) {
	n := startNode(t, nodeOptions{name: "auth", demo: true})
	secret := []byte(testSecret)
	hour := time.Hour
	bad := []struct{ name, header string }{
		{"no Authorization", ""},
		{"not a JWT", "Bearer garbage"},
		{"Basic scheme", "Basic YWRtaW46YWRtaW4="},
		{"wrong secret", "Bearer " + mintToken(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefghijkl"), claims("a", hour, ""))},
		{"expired", "Bearer " + mintToken(t, jwt.SigningMethodHS256, secret, claims("a", -time.Minute, ""))},
		{"alg none", "Bearer " + mintToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("a", hour, ""))},
		{"HS384", "Bearer " + mintToken(t, jwt.SigningMethodHS384, secret, claims("a", hour, ""))},
		{"no exp claim", "Bearer " + mintToken(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "a", "iat": time.Now().Unix()})},
		{"token twice", "Bearer " + n.token + " " + n.token},
	}
	for _, tc := range bad {
		for _, path := range []string{"/mcp/http", "/mcp", "/api/servers"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				method := http.MethodPost
				if strings.HasPrefix(path, "/api") {
					method = http.MethodGet
				}
				r := n.do(t, method, path, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), map[string]string{"Authorization": tc.header})
				if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("status %d, WWW-Authenticate %q; want 401 with a Bearer challenge; body %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
				}
			})
		}
	}
	t.Run("scopes", func(t *testing.T) { testScopes(t, n) })
	t.Run("open routes", func(t *testing.T) { testOpenRoutes(t, n) })
}

func testScopes(t *testing.T, n *node) {
	mcpTok := makeToken(t, "--username", "bot@example.com", "--secret", testSecret, "--scope", "mcp")
	noScope := mintToken(t, jwt.SigningMethodHS256, []byte(testSecret), claims("old@example.com", time.Hour, ""))
	cases := []struct {
		name, token, method, path string
		status                    int
	}{
		{"admin token on MCP", n.token, http.MethodPost, "/mcp/http", http.StatusOK},
		{"admin token on management", n.token, http.MethodGet, "/api/servers", http.StatusOK},
		{"mcp token on MCP", mcpTok, http.MethodPost, "/mcp/http", http.StatusOK},
		{"mcp token on management", mcpTok, http.MethodGet, "/api/servers", http.StatusForbidden},
		{"no scope claim counts as admin", noScope, http.MethodGet, "/api/servers", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, tc.method, tc.path, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`),
				map[string]string{"Authorization": "Bearer " + tc.token})
			if r.status != tc.status {
				t.Errorf("status %d, want %d; body %s", r.status, tc.status, r.body)
			}
		})
	}
}

func testOpenRoutes(t *testing.T, n *node) {
	for _, path := range []string{"/health", "/ready", "/metrics"} {
		t.Run(path, func(t *testing.T) {
			r := n.do(t, http.MethodGet, path, nil, map[string]string{"Authorization": ""})
			if r.status != http.StatusOK {
				t.Errorf("GET %s without a token: status %d, want 200; body %s", path, r.status, r.body)
			}
		})
	}
}
