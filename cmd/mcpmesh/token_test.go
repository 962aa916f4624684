package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

func TestTokenCommand(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		secret  string // the token must verify with this
		scope   string
		ttl     time.Duration
		devNote bool
	}{
		{"seed line", []string{"--username", "admin@example.com", "--secret", secretA}, nil, secretA, "admin", 168 * time.Hour, false},
		{"empty --secret means JWT_SECRET", []string{"--username", "a", "--secret", ""}, map[string]string{"JWT_SECRET": secretB}, secretB, "admin", 168 * time.Hour, false},
		{"no secret at all means the dev secret", []string{"--username", "a"}, nil, gateway.DevSecret, "admin", 168 * time.Hour, true},
		{"mcp scope and hours", []string{"--username", "a", "--secret", secretA, "--scope", "mcp", "--exp", "2h"}, nil, secretA, "mcp", 2 * time.Hour, false},
		{"days", []string{"--username", "a", "--secret", secretA, "--exp", "3d"}, nil, secretA, "admin", 72 * time.Hour, false},
		{"bare minutes", []string{"--username", "a", "--secret", secretA, "--exp", "90"}, nil, secretA, "admin", 90 * time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"token"}, tc.args...), mapEnv(tc.env), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := stdout.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Count(out, ".") != 2 {
				t.Fatalf("stdout %q is not one token and a newline", out)
			}
			c, err := gateway.ParseToken([]byte(tc.secret), strings.TrimSpace(out))
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Until(c.ExpiresAt.Time); c.Scope != tc.scope || d > tc.ttl || d < tc.ttl-time.Minute {
				t.Errorf("scope %q expiry in %v, want %q %v", c.Scope, d, tc.scope, tc.ttl)
			}
			if got := strings.Contains(stderr.String(), "development secret"); got != tc.devNote {
				t.Errorf("stderr %q: dev note %v, want %v", stderr.String(), got, tc.devNote)
			}
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		errHas string
	}{
		{"no username", []string{"--secret", secretA}, "--username is required"},
		{"bad scope", []string{"--username", "a", "--secret", secretA, "--scope", "root"}, "--scope"},
		{"empty group", []string{"--username", "a", "--secret", secretA, "--group", ""}, "--group"},
		{"short secret", []string{"--username", "a", "--secret", "short"}, "at least 32"},
		{"zero exp", []string{"--username", "a", "--secret", secretA, "--exp", "0"}, "--exp"},
		{"negative exp", []string{"--username", "a", "--secret", secretA, "--exp", "-1h"}, "--exp"},
		{"huge exp", []string{"--username", "a", "--secret", secretA, "--exp", "99999999999999d"}, "--exp"},
		{"garbage exp", []string{"--username", "a", "--secret", secretA, "--exp", "soon"}, "--exp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"token"}, tc.args...), mapEnv(nil), &stdout, &stderr)
			if code == 0 || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.errHas) {
				t.Fatalf("exit %d stdout %q stderr %q, want failure mentioning %q", code, stdout.String(), stderr.String(), tc.errHas)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"help"}, 0, "mcpmesh serve", ""},
		{[]string{"--help"}, 0, "mcpmesh token", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "-h"}, 0, "", "-jwt-secret"},
		{[]string{"version"}, 0, "mcpmesh", ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, mapEnv(nil), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdoutHas) || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Fatalf("exit %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestTokenGroups: --group is repeatable and becomes the groups claim, an
// array of the names exactly as given; without it there is no claim.
func TestTokenGroups(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"--group", "team-a"}, []string{"team-a"}},
		{[]string{"--group", "team a", "--group", "ops,sre"}, []string{"team a", "ops,sre"}},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"token", "--username", "a", "--secret", secretA}, tc.args...)
		if code := run(args, mapEnv(nil), &stdout, &stderr); code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.args, code, stderr.String())
		}
		c, err := gateway.ParseToken([]byte(secretA), strings.TrimSpace(stdout.String()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Groups, tc.want) {
			t.Errorf("%q: groups claim %q, want %q", tc.args, c.Groups, tc.want)
		}
	}
}
