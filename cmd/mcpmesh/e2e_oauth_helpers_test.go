package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The OpenID Provider of the OAuth tests: scripts/oidcop, the zitadel/oidc
// v3 provider in a module of its own, built once per test binary (the Go
// build cache keeps later builds short).

var oidcOP = &helperBinary{name: "oidcop", dir: filepath.Join("..", "..", "scripts", "oidcop"), pkg: "."}

func buildOP(t testing.TB) string { return oidcOP.build(t) }

// startOP starts the provider on a free loopback port and returns the URL
// it serves at; issuer, when set, is claimed instead of that URL (a second
// provider with keys of its own, claiming the first one's issuer).
func startOP(t testing.TB, issuer string) string {
	t.Helper()
	args := []string{"-addr", "127.0.0.1:0"}
	if issuer != "" {
		args = append(args, "-issuer", issuer)
	}
	p := startProc(t, "oidcop", buildOP(t), args...)
	var base string
	wait.For(t, readyTimeout, func() bool {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "listening "); ok {
				base = strings.TrimSpace(v)
			}
		}
		return base != "" || p.exited()
	}, "waiting for oidcop to say where it listens")
	if base == "" {
		t.Fatalf("oidcop exited: %s", p.out.String())
	}
	return base
}

// opToken gets an access token from the provider at base by the client
// credentials grant (see scripts/oidcop for what the scopes do).
func opToken(t testing.TB, base, client string, scopes ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("token request to %s: %v", base, err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token request to %s for %s %q: status %d, %v %s", base, client, scopes, resp.StatusCode, err, tok.Error)
	}
	return tok.AccessToken
}
