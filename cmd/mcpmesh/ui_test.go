package main

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// runUIArgs runs `mcpmesh ui args...` with env and returns its exit
// status, stdout and stderr.
func runUIArgs(env map[string]string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"ui"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// uiToken checks that printed is one dashboard URL on gw and returns the
// claims of the token in its fragment.
func uiToken(t *testing.T, printed, gw string) *gateway.Claims {
	t.Helper()
	line := strings.TrimSuffix(printed, "\n")
	prefix := gw + "/ui/#token="
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, prefix) {
		t.Fatalf("mcpmesh ui printed %q, want one line %s<token>", printed, prefix)
	}
	tok, err := url.QueryUnescape(strings.TrimPrefix(line, prefix))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := gateway.ParseToken([]byte(testSecret), tok)
	if err != nil {
		t.Fatalf("the token mcpmesh ui printed: %v", err)
	}
	return claims
}

func TestUICommand(t *testing.T) {
	t.Run("prints a short-lived admin URL", func(t *testing.T) {
		code, out, errOut := runUIArgs(nil, "--gateway", "http://127.0.0.1:8123/", "--secret", testSecret, "--exp", "15m")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		c := uiToken(t, out, "http://127.0.0.1:8123")
		left := time.Until(c.ExpiresAt.Time)
		if !c.Allows(gateway.ScopeAdmin) || left <= 14*time.Minute || left > 15*time.Minute {
			t.Fatalf("token: scope %q, expires in %v; want admin, 15m", c.Scope, left)
		}
	})
	t.Run("environment", func(t *testing.T) {
		env := map[string]string{"MCPMESH_GATEWAY": "https://mesh.example.com", "JWT_SECRET": testSecret}
		code, out, errOut := runUIArgs(env)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if c := uiToken(t, out, "https://mesh.example.com"); time.Until(c.ExpiresAt.Time) > defaultUIExp {
			t.Fatalf("default lifetime over %v", defaultUIExp)
		}
	})
	t.Run("open", func(t *testing.T) {
		var opened []string
		old := openURL
		openURL = func(u string) error { opened = append(opened, u); return nil }
		t.Cleanup(func() { openURL = old })
		code, out, errOut := runUIArgs(nil, "--gateway", "http://127.0.0.1:8123", "--secret", testSecret, "--open")
		if code != 0 || len(opened) != 1 || opened[0]+"\n" != out {
			t.Fatalf("exit %d (%s), opened %q; want the printed URL %q opened once", code, errOut, opened, out)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad gateway", []string{"--gateway", "ftp://x", "--secret", testSecret}, `--gateway "ftp://x"`},
		{"gateway with a fragment", []string{"--gateway", "http://x/#a", "--secret", testSecret}, "--gateway"},
		{"bad exp", []string{"--exp", "-5m", "--secret", testSecret}, `--exp "-5m"`},
		{"short secret", []string{"--secret", "short"}, "--secret"},
		{"empty username", []string{"--username", " ", "--secret", testSecret}, "--username"},
		{"argument", []string{"--secret", testSecret, "extra"}, "no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runUIArgs(nil, tc.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Fatalf("mcpmesh ui %v: exit %d, stdout %q, stderr %q; want 2, nothing printed, an error naming %s", tc.args, code, out, errOut, tc.want)
			}
		})
	}
}
