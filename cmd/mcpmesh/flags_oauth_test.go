package main

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// TestParseServeOAuth: the --oauth-* flags, their MCPMESH_OAUTH_* names,
// their defaults, and a clear usage error (exit status 2) for each bad
// combination.
func TestParseServeOAuth(t *testing.T) {
	const iss = "https://login.example.com"
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    *gateway.OAuthConfig
		wantErr string
	}{
		{"unset", []string{"--dev"}, nil, nil, ""},
		{"issuer only: defaults", []string{"--dev", "--oauth-issuer", iss}, nil,
			&gateway.OAuthConfig{Issuer: iss, AdminScope: "mcpmesh:admin", MCPScope: "mcpmesh:mcp", GroupsClaim: "groups"}, ""},
		{"every flag", []string{"--dev", "--oauth-issuer", iss, "--oauth-audience", "https://lb.example.com, https://lb.example.com/mcp",
			"--oauth-admin-scope", "a", "--oauth-mcp-scope", "m", "--oauth-groups-claim", "roles",
			"--oauth-client-id", "rs", "--oauth-client-secret", "s3"}, nil,
			&gateway.OAuthConfig{Issuer: iss, Audiences: []string{"https://lb.example.com", "https://lb.example.com/mcp"},
				AdminScope: "a", MCPScope: "m", GroupsClaim: "roles", ClientID: "rs", ClientSecret: "s3"}, ""},
		{"env", []string{"--dev"}, map[string]string{"MCPMESH_OAUTH_ISSUER": iss, "MCPMESH_OAUTH_AUDIENCE": "aud1",
			"MCPMESH_OAUTH_ADMIN_SCOPE": "a", "MCPMESH_OAUTH_MCP_SCOPE": "m", "MCPMESH_OAUTH_GROUPS_CLAIM": "roles",
			"MCPMESH_OAUTH_CLIENT_ID": "rs", "MCPMESH_OAUTH_CLIENT_SECRET": "s3"},
			&gateway.OAuthConfig{Issuer: iss, Audiences: []string{"aud1"}, AdminScope: "a", MCPScope: "m", GroupsClaim: "roles",
				ClientID: "rs", ClientSecret: "s3"}, ""},
		{"flag wins", []string{"--dev", "--oauth-issuer", iss}, map[string]string{"MCPMESH_OAUTH_ISSUER": "https://other"},
			&gateway.OAuthConfig{Issuer: iss, AdminScope: "mcpmesh:admin", MCPScope: "mcpmesh:mcp", GroupsClaim: "groups"}, ""},
		{"issuer not a URL", []string{"--dev", "--oauth-issuer", "login.example.com"}, nil, nil, `--oauth-issuer "login.example.com"`},
		{"client id alone", []string{"--dev", "--oauth-issuer", iss, "--oauth-client-id", "rs"}, nil, nil, "--oauth-client-id and --oauth-client-secret"},
		{"same scopes", []string{"--dev", "--oauth-issuer", iss, "--oauth-mcp-scope", "mcpmesh:admin"}, nil, nil, "must be given and differ"},
		{"audience without issuer", []string{"--dev", "--oauth-audience", "x"}, nil, nil, "need --oauth-issuer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, tc.wantErr)
			if tc.wantErr != "" {
				_, err := parseServe(tc.args, mapEnv(tc.env), fixedHost("host"), io.Discard)
				if ue := (usageError{}); !errors.As(err, &ue) {
					t.Fatalf("err %v is not a usage error (exit status 2)", err)
				}
				return
			}
			if !sameOAuth(cfg.OAuth, tc.want) {
				t.Fatalf("OAuth = %+v, want %+v", cfg.OAuth, tc.want)
			}
		})
	}
}

func sameOAuth(a, b *gateway.OAuthConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Issuer == b.Issuer && slices.Equal(a.Audiences, b.Audiences) && a.AdminScope == b.AdminScope &&
		a.MCPScope == b.MCPScope && a.GroupsClaim == b.GroupsClaim && a.ClientID == b.ClientID && a.ClientSecret == b.ClientSecret
}
