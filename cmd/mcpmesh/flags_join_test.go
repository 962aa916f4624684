package main

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestParseServeJoin: each --join entry is checked at start; a malformed
// one is a usage error naming the entry.
func TestParseServeJoin(t *testing.T) {
	for _, join := range []string{
		"127.0.0.1:9000", "node-1.example.com:9000,[::1]:9000", "http://10.0.0.1:8000", "https://gw.example.com",
		"dns:mcpmesh-gossip.default.svc.cluster.local", "dns:localhost:9001",
	} {
		t.Run(join, func(t *testing.T) {
			if _, err := parseServe([]string{"--dev", "--join", join}, mapEnv(nil), fixedHost("host"), io.Discard); err != nil {
				t.Fatalf("--join %q: %v", join, err)
			}
		})
	}
	cases := []struct{ join, errHas string }{
		{"foo bar", `entry 1 "foo bar": not host:port`},
		{"127.0.0.1:9000,foo bar:9000", `entry 2 "foo bar:9000"`},
		{"10.0.0.1", `"10.0.0.1": not host:port`},
		{"10.0.0.1:99999", `"10.0.0.1:99999": port "99999" must be a number from 1 to 65535`},
		{"10.0.0.1:0", `port "0"`},
		{"dns:", `"dns:": host name is empty`},
		{"dns::9000", `host name is empty`},
		{"dns:svc:port", `port "port"`},
		{"http://", `"http://": the URL has no host`},
		{"http://gw:eighty", `"http://gw:eighty"`},
		{"https://a b", `"https://a b": not a URL`},
	}
	for _, tc := range cases {
		t.Run(tc.join, func(t *testing.T) {
			_, err := parseServe([]string{"--dev", "--join", tc.join}, mapEnv(nil), fixedHost("host"), io.Discard)
			var ue usageError
			if err == nil || !strings.Contains(err.Error(), "--join: ") || !strings.Contains(err.Error(), tc.errHas) || !errors.As(err, &ue) {
				t.Fatalf("--join %q: err = %v, want a usage error mentioning %q", tc.join, err, tc.errHas)
			}
		})
	}
	_, err := parseServe([]string{"--dev"}, mapEnv(map[string]string{"JOIN": "foo bar"}), fixedHost("host"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"foo bar"`) {
		t.Fatalf("JOIN=foo bar: err = %v, want the entry named", err)
	}
}

// TestServeRefusesBadJoin: the binary exits 2 at start, naming the entry,
// instead of retrying it forever.
func TestServeRefusesBadJoin(t *testing.T) {
	for _, join := range []string{"foo bar", "127.0.0.1:70000", "dns:"} {
		t.Run(join, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, buildBinaries(t).mcpmesh, "serve", "--dev", "--http", "127.0.0.1:0",
				"--data-dir", t.TempDir(), "--join", join)
			cmd.Env = cleanEnv()
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "--join: entry 1 "+`"`+join+`"`) {
				t.Fatalf("serve --join %q: exit %d (-1: still running after %s), output %q; want exit 2 naming the entry", join, code, readyTimeout, out)
			}
		})
	}
}

// TestParseServeMetricsToken: --metrics-token, or MCPMESH_METRICS_TOKEN.
func TestParseServeMetricsToken(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unset", []string{"--dev"}, nil, ""},
		{"flag", []string{"--dev", "--metrics-token", "m1"}, nil, "m1"},
		{"env", []string{"--dev"}, map[string]string{"MCPMESH_METRICS_TOKEN": "m2"}, "m2"},
		{"flag wins", []string{"--dev", "--metrics-token", "m1"}, map[string]string{"MCPMESH_METRICS_TOKEN": "m2"}, "m1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(tc.args, mapEnv(tc.env), fixedHost("host"), io.Discard)
			if err != nil || cfg.MetricsToken != tc.want {
				t.Fatalf("MetricsToken = %q, %v; want %q", cfg.MetricsToken, err, tc.want)
			}
		})
	}
}
