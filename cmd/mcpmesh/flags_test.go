package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

const (
	secretA = "secret-a-secret-a-secret-a-secret-a"
	secretB = "secret-b-secret-b-secret-b-secret-b"
	secretC = "secret-c-secret-c-secret-c-secret-c"
)

// want is the part of a serveConfig a case checks; "" and nil are "any".
type want struct {
	name, http, advertise, dataDir, gossip, secret, logLevel string
	dev                                                      bool
	join, origins, hosts                                     []string
}

func TestParseServePrecedence(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"defaults with --dev", []string{"--dev"}, nil, want{name: "my-host-local", http: "127.0.0.1:8000",
			advertise: "http://127.0.0.1:8000", dataDir: filepath.Join("data", "my-host-local"), gossip: "127.0.0.1:9000",
			secret: gateway.DevSecret, dev: true, logLevel: "info"}},
		{"PORT sets http, advertise and gossip", []string{"--dev"}, map[string]string{"PORT": "8001"},
			want{http: "127.0.0.1:8001", advertise: "http://127.0.0.1:8001", gossip: "127.0.0.1:9001"}},
		{"MCPMESH_HTTP beats PORT", []string{"--dev"}, map[string]string{"PORT": "8001", "MCPMESH_HTTP": "127.0.0.1:7000"},
			want{http: "127.0.0.1:7000", gossip: "127.0.0.1:8000"}},
		{"--http beats env", []string{"--dev", "--http", "127.0.0.1:7100"}, map[string]string{"MCPMESH_HTTP": "127.0.0.1:7000"},
			want{http: "127.0.0.1:7100"}},
		{"wildcard host advertises loopback", []string{"--dev", "--http", "0.0.0.0:7200"}, nil,
			want{advertise: "http://127.0.0.1:7200"}},
		{"explicit advertise url", []string{"--dev", "--advertise-url", "https://a.example.com"}, nil,
			want{advertise: "https://a.example.com"}},
		{"MCPMESH_NAME sets name and data dir", []string{"--dev"}, map[string]string{"MCPMESH_NAME": "gw-1"},
			want{name: "gw-1", dataDir: filepath.Join("data", "gw-1")}},
		{"--name beats MCPMESH_NAME", []string{"--dev", "--name", "gw-2"}, map[string]string{"MCPMESH_NAME": "gw-1"},
			want{name: "gw-2"}},
		{"--data-dir", []string{"--dev", "--data-dir", "/tmp/x"}, nil, want{dataDir: "/tmp/x"}},
		{"JWT_SECRET", nil, map[string]string{"JWT_SECRET": secretA}, want{secret: secretA}},
		{"MCPMESH_JWT_SECRET beats JWT_SECRET", nil, map[string]string{"JWT_SECRET": secretA, "MCPMESH_JWT_SECRET": secretB},
			want{secret: secretB}},
		{"--jwt-secret beats env", []string{"--jwt-secret", secretC}, map[string]string{"JWT_SECRET": secretA, "MCPMESH_JWT_SECRET": secretB},
			want{secret: secretC}},
		{"a secret with --dev is used", []string{"--dev", "--jwt-secret", secretA}, nil, want{secret: secretA, dev: true}},
		{"MCPMESH_DEV", nil, map[string]string{"MCPMESH_DEV": "true"}, want{dev: true, secret: gateway.DevSecret}},
		{"JOIN alias", []string{"--dev"}, map[string]string{"JOIN": "a:1, b:2"}, want{join: []string{"a:1", "b:2"}}},
		{"--join beats JOIN", []string{"--dev", "--join", "c:3"}, map[string]string{"JOIN": "a:1"}, want{join: []string{"c:3"}}},
		{"MCPMESH_LOG_LEVEL", []string{"--dev"}, map[string]string{"MCPMESH_LOG_LEVEL": "debug"}, want{logLevel: "debug"}},
		{"origins list", []string{"--dev", "--allowed-origins", "https://a.example.com/, http://localhost:3000"}, nil,
			want{origins: []string{"https://a.example.com", "http://localhost:3000"}}},
		{"allowed hosts list", []string{"--dev", "--allowed-hosts", "mcp.example.com, LB.internal:8080,[2001:db8::1],[::1]:443, 10.0.0.5"}, nil,
			want{hosts: []string{"mcp.example.com", "LB.internal:8080", "[2001:db8::1]", "[::1]:443", "10.0.0.5"}}},
		{"MCPMESH_ALLOWED_HOSTS", []string{"--dev"}, map[string]string{"MCPMESH_ALLOWED_HOSTS": "mcp.example.com"},
			want{hosts: []string{"mcp.example.com"}}},
		{"--allowed-hosts beats MCPMESH_ALLOWED_HOSTS", []string{"--dev", "--allowed-hosts", "a.example.com"},
			map[string]string{"MCPMESH_ALLOWED_HOSTS": "b.example.com"}, want{hosts: []string{"a.example.com"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(tc.args, mapEnv(tc.env), fixedHost("My_Host.local"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			checkWant(t, cfg, tc.want)
		})
	}
}

func checkWant(t *testing.T, cfg *serveConfig, w want) {
	t.Helper()
	got := want{cfg.Name, cfg.HTTP, cfg.AdvertiseURL, cfg.DataDir, cfg.Gossip, string(cfg.Secret), cfg.LogLevel,
		cfg.Dev, cfg.Join, cfg.AllowedOrigins, cfg.AllowedHosts}
	pairs := [][2]string{{got.name, w.name}, {got.http, w.http}, {got.advertise, w.advertise}, {got.dataDir, w.dataDir},
		{got.gossip, w.gossip}, {got.secret, w.secret}, {got.logLevel, w.logLevel}}
	for i, p := range pairs {
		if p[1] != "" && p[0] != p[1] {
			t.Errorf("field %d = %q, want %q", i, p[0], p[1])
		}
	}
	if w.dev && !got.dev {
		t.Errorf("dev is off, want on")
	}
	if cfg.DevSecret != (string(cfg.Secret) == gateway.DevSecret) {
		t.Errorf("DevSecret %v with secret %q", cfg.DevSecret, cfg.Secret)
	}
	if w.join != nil && !slices.Equal(got.join, w.join) || w.origins != nil && !slices.Equal(got.origins, w.origins) {
		t.Errorf("join %q origins %q, want %q %q", got.join, got.origins, w.join, w.origins)
	}
	if w.hosts != nil && !slices.Equal(got.hosts, w.hosts) {
		t.Errorf("allowed hosts %q, want %q", got.hosts, w.hosts)
	}
}

func TestParseServeRefusals(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		errHas string
	}{
		{"no secret without --dev", nil, nil, "no JWT secret"},
		{"--dev=false beats MCPMESH_DEV", []string{"--dev=false"}, map[string]string{"MCPMESH_DEV": "1"}, "no JWT secret"},
		{"short --jwt-secret", []string{"--jwt-secret", "short"}, nil, "at least 32"},
		{"short secret even with --dev", []string{"--dev", "--jwt-secret", "short"}, nil, "at least 32"},
		{"short JWT_SECRET", nil, map[string]string{"JWT_SECRET": "short"}, "at least 32"},
		{"bad MCPMESH_DEV", nil, map[string]string{"MCPMESH_DEV": "maybe"}, "MCPMESH_DEV"},
		{"bad MCPMESH_PEER_TIMEOUT", []string{"--dev"}, map[string]string{"MCPMESH_PEER_TIMEOUT": "soon"}, "MCPMESH_PEER_TIMEOUT"},
		{"bad PORT", []string{"--dev"}, map[string]string{"PORT": "eighty"}, "PORT"},
		{"bad --http", []string{"--dev", "--http", "nonsense"}, nil, "--http"},
		{"bad --name", []string{"--dev", "--name", "Gateway_A"}, nil, "--name"},
		{"bad --advertise-url", []string{"--dev", "--advertise-url", "gw:8000"}, nil, "--advertise-url"},
		{"bad --log-format", []string{"--dev", "--log-format", "xml"}, nil, "--log-format"},
		{"bad --log-level", []string{"--dev", "--log-level", "loud"}, nil, "--log-level"},
		{"bad origin", []string{"--dev", "--allowed-origins", "example.com"}, nil, "--allowed-origins"},
		{"allowed host with a scheme", []string{"--dev", "--allowed-hosts", "mcp.example.com,https://x.example.com"}, nil,
			`--allowed-hosts: entry 2: "https://x.example.com" is a URL`},
		{"allowed host with a path", []string{"--dev", "--allowed-hosts", "mcp.example.com/mcp"}, nil, `entry 1: "mcp.example.com/mcp" has a path`},
		{"empty allowed host", []string{"--dev", "--allowed-hosts", "a.example.com,,b.example.com"}, nil, "--allowed-hosts: entry 2: empty entry"},
		{"trailing comma in allowed hosts", []string{"--dev", "--allowed-hosts", "a.example.com,"}, nil, "--allowed-hosts: entry 2: empty entry"},
		{"allowed host with a space", []string{"--dev", "--allowed-hosts", "mcp example.com"}, nil, `--allowed-hosts: entry 1: "mcp example.com" contains a space`},
		{"allowed host with a bad port", []string{"--dev", "--allowed-hosts", "mcp.example.com:https"}, nil, `port "https" must be a number`},
		{"IPv6 allowed host without brackets", []string{"--dev", "--allowed-hosts", "2001:db8::1"}, nil, "in brackets"},
		{"bad MCPMESH_ALLOWED_HOSTS", []string{"--dev"}, map[string]string{"MCPMESH_ALLOWED_HOSTS": "*.example.com"}, `"*.example.com"`},
		{"bad --auto-trust", []string{"--dev", "--auto-trust", "some"}, nil, "--auto-trust"},
		{"zero --max-sessions", []string{"--dev", "--max-sessions", "0"}, nil, "--max-sessions 0 must be positive"},
		{"negative --max-sessions-per-principal", []string{"--dev", "--max-sessions-per-principal", "-1"}, nil, "--max-sessions-per-principal -1 must be positive"},
		{"per principal above the total", []string{"--dev", "--max-sessions", "10", "--max-sessions-per-principal", "11"}, nil, "must not exceed --max-sessions 10"},
		{"bad MCPMESH_MAX_SESSIONS", []string{"--dev"}, map[string]string{"MCPMESH_MAX_SESSIONS": "many"}, "MCPMESH_MAX_SESSIONS"},
		{"zero --read-timeout", []string{"--dev", "--read-timeout", "0s"}, nil, "--read-timeout 0s must be positive"},
		{"negative --write-timeout", []string{"--dev", "--write-timeout", "-1s"}, nil, "--write-timeout -1s must be positive"},
		{"zero --idle-timeout", []string{"--dev", "--idle-timeout", "0"}, nil, "--idle-timeout"},
		{"zero --sse-keepalive", []string{"--dev", "--sse-keepalive", "0s"}, nil, "--sse-keepalive"},
		{"zero --upstream-timeout", []string{"--dev", "--upstream-timeout", "0s"}, nil, "--upstream-timeout 0s must be positive"},
		{"bad MCPMESH_UPSTREAM_TIMEOUT", []string{"--dev"}, map[string]string{"MCPMESH_UPSTREAM_TIMEOUT": "a minute"}, "MCPMESH_UPSTREAM_TIMEOUT"},
		{"zero --max-unauthenticated-conns", []string{"--dev", "--max-unauthenticated-conns", "0"}, nil, "--max-unauthenticated-conns 0 must be positive"},
		{"bad MCPMESH_MAX_UNAUTHENTICATED_CONNS", []string{"--dev"}, map[string]string{"MCPMESH_MAX_UNAUTHENTICATED_CONNS": "many"}, "MCPMESH_MAX_UNAUTHENTICATED_CONNS"},
		{"zero --input-timeout", []string{"--dev", "--input-timeout", "0s"}, nil, "--input-timeout 0s must be positive"},
		{"bad MCPMESH_INPUT_TIMEOUT", []string{"--dev"}, map[string]string{"MCPMESH_INPUT_TIMEOUT": "later"}, "MCPMESH_INPUT_TIMEOUT"},
		{"zero --max-held-requests", []string{"--dev", "--max-held-requests", "0"}, nil, "--max-held-requests 0 must be positive"},
		{"bad MCPMESH_MAX_HELD_REQUESTS", []string{"--dev"}, map[string]string{"MCPMESH_MAX_HELD_REQUESTS": "lots"}, "MCPMESH_MAX_HELD_REQUESTS"},
		{"positional argument", []string{"--dev", "extra"}, nil, "no arguments"},
		{"unknown flag", []string{"--bogus"}, nil, "bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServe(tc.args, mapEnv(tc.env), fixedHost("host"), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errHas)
			}
		})
	}
}

func TestParseServeSessionBounds(t *testing.T) {
	cases := []struct {
		name              string
		args              []string
		env               map[string]string
		total, principals int
	}{
		{"defaults", []string{"--dev"}, nil, 10000, 100},
		{"env", []string{"--dev"}, map[string]string{"MCPMESH_MAX_SESSIONS": "500", "MCPMESH_MAX_SESSIONS_PER_PRINCIPAL": "5"}, 500, 5},
		{"flags beat env", []string{"--dev", "--max-sessions", "300", "--max-sessions-per-principal", "3"},
			map[string]string{"MCPMESH_MAX_SESSIONS": "500", "MCPMESH_MAX_SESSIONS_PER_PRINCIPAL": "5"}, 300, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, "")
			if cfg.MaxSessions != tc.total || cfg.MaxSessionsPerPrincipal != tc.principals {
				t.Errorf("max sessions %d, per principal %d; want %d, %d", cfg.MaxSessions, cfg.MaxSessionsPerPrincipal, tc.total, tc.principals)
			}
		})
	}
}

func TestSanitizeName(t *testing.T) {
	cases := map[string]string{
		"My_Host.local": "my-host-local", "gateway-8000": "gateway-8000", "--x--": "x", "": "mcpmesh",
		"ÜBER": "ber", strings.Repeat("a", 70): strings.Repeat("a", 63),
	}
	for in, want := range cases {
		if got := sanitizeName(in); got != want || !validNodeName.MatchString(got) {
			t.Errorf("sanitizeName(%q) = %q, want valid %q", in, got, want)
		}
	}
}

func TestParseServeHostnameError(t *testing.T) {
	failing := func() (string, error) { return "", errors.New("no uts") }
	if _, err := parseServe([]string{"--dev"}, mapEnv(nil), failing, io.Discard); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("err = %v, want one asking for --name", err)
	}
	cfg, err := parseServe([]string{"--dev", "--name", "n1"}, mapEnv(nil), failing, io.Discard)
	if err != nil || cfg.Name != "n1" || cfg.PeerTimeout != 30*time.Second {
		t.Fatalf("with --name: %+v %v", cfg, err)
	}
}

func TestParseServeConnectionBounds(t *testing.T) {
	defaults := gateway.ConnLimits{ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, SSEKeepAlive: 15 * time.Second, MaxUnauthenticated: 32}
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		conns    gateway.ConnLimits
		upstream time.Duration
	}{
		{"defaults", []string{"--dev"}, nil, defaults, 60 * time.Second},
		{"flags", []string{"--dev", "--read-timeout", "5s", "--write-timeout", "6s", "--idle-timeout", "7s",
			"--sse-keepalive", "8s", "--max-unauthenticated-conns", "9", "--upstream-timeout", "10s"}, nil,
			gateway.ConnLimits{ReadTimeout: 5 * time.Second, WriteTimeout: 6 * time.Second, IdleTimeout: 7 * time.Second,
				SSEKeepAlive: 8 * time.Second, MaxUnauthenticated: 9}, 10 * time.Second},
		{"environment", []string{"--dev"}, map[string]string{"MCPMESH_READ_TIMEOUT": "1s", "MCPMESH_WRITE_TIMEOUT": "2s",
			"MCPMESH_IDLE_TIMEOUT": "3s", "MCPMESH_SSE_KEEPALIVE": "4s", "MCPMESH_MAX_UNAUTHENTICATED_CONNS": "5",
			"MCPMESH_UPSTREAM_TIMEOUT": "6s"},
			gateway.ConnLimits{ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 3 * time.Second,
				SSEKeepAlive: 4 * time.Second, MaxUnauthenticated: 5}, 6 * time.Second},
		{"flag beats environment", []string{"--dev", "--upstream-timeout", "2m", "--max-unauthenticated-conns", "100"},
			map[string]string{"MCPMESH_UPSTREAM_TIMEOUT": "6s", "MCPMESH_MAX_UNAUTHENTICATED_CONNS": "5"},
			func() gateway.ConnLimits { d := defaults; d.MaxUnauthenticated = 100; return d }(), 2 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, "")
			if cfg.Conns != tc.conns || cfg.UpstreamTimeout != tc.upstream {
				t.Errorf("conns %+v upstream %s, want %+v %s", cfg.Conns, cfg.UpstreamTimeout, tc.conns, tc.upstream)
			}
		})
	}
}

func TestParseServeHeldBounds(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		timeout time.Duration
		max     int
	}{
		{"defaults", []string{"--dev"}, nil, 5 * time.Minute, 1000},
		{"flags", []string{"--dev", "--input-timeout", "90s", "--max-held-requests", "7"}, nil, 90 * time.Second, 7},
		{"environment", []string{"--dev"}, map[string]string{"MCPMESH_INPUT_TIMEOUT": "2m", "MCPMESH_MAX_HELD_REQUESTS": "8"}, 2 * time.Minute, 8},
		{"flag beats environment", []string{"--dev", "--max-held-requests", "9"},
			map[string]string{"MCPMESH_MAX_HELD_REQUESTS": "8"}, 5 * time.Minute, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, "")
			if cfg.InputTimeout != tc.timeout || cfg.MaxHeldRequests != tc.max {
				t.Errorf("input timeout %s, max held %d; want %s, %d", cfg.InputTimeout, cfg.MaxHeldRequests, tc.timeout, tc.max)
			}
		})
	}
}

// parseCase parses a serve command line and environment. With wantErr it
// checks that parsing fails naming it, and returns nil.
func parseCase(t *testing.T, args []string, env map[string]string, wantErr string) *serveConfig {
	t.Helper()
	cfg, err := parseServe(args, mapEnv(env), fixedHost("host"), io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err %v, want one naming %q", err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func fixedHost(h string) func() (string, error) {
	return func() (string, error) { return h, nil }
}

func TestParseServeByteBounds(t *testing.T) {
	cases := []struct {
		name            string
		args            []string
		env             map[string]string
		catalog, result int64
	}{
		{"defaults", []string{"--dev"}, nil, 8 << 20, 16 << 20},
		{"flags with units", []string{"--dev", "--max-catalog-bytes", "512KiB", "--max-result-bytes", "2MiB"}, nil, 512 << 10, 2 << 20},
		{"plain bytes", []string{"--dev", "--max-result-bytes", "65536"}, nil, 8 << 20, 65536},
		{"env", []string{"--dev"}, map[string]string{"MCPMESH_MAX_CATALOG_BYTES": "1M", "MCPMESH_MAX_RESULT_BYTES": "4mib"}, 1 << 20, 4 << 20},
		{"flag beats env", []string{"--dev", "--max-result-bytes", "3MiB"}, map[string]string{"MCPMESH_MAX_RESULT_BYTES": "4MiB"}, 8 << 20, 3 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, "")
			if cfg.MaxCatalogBytes != tc.catalog || cfg.MaxResultBytes != tc.result {
				t.Errorf("bounds %d, %d; want %d, %d", cfg.MaxCatalogBytes, cfg.MaxResultBytes, tc.catalog, tc.result)
			}
		})
	}
	refusals := []struct{ name, flag, value, errHas string }{
		{"not a size", "--max-catalog-bytes", "lots", "not a size"},
		{"negative", "--max-result-bytes", "-5", "not a size"},
		{"zero", "--max-result-bytes", "0", "--max-result-bytes 0 must be from 1KiB to 1GiB"},
		{"too big", "--max-catalog-bytes", "2GiB", "--max-catalog-bytes"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServe([]string{"--dev", tc.flag, tc.value}, mapEnv(nil), fixedHost("host"), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errHas)
			}
		})
	}
	_, err := parseServe([]string{"--dev"}, mapEnv(map[string]string{"MCPMESH_MAX_RESULT_BYTES": "huge"}), fixedHost("host"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MCPMESH_MAX_RESULT_BYTES") {
		t.Fatalf("a bad MCPMESH_MAX_RESULT_BYTES: err = %v, want it named", err)
	}
}

func TestParseServeDrainTimeout(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
		err  string
	}{
		{"default", []string{"--dev"}, nil, 30 * time.Second, ""},
		{"flag", []string{"--dev", "--drain-timeout", "500ms"}, nil, 500 * time.Millisecond, ""},
		{"environment", []string{"--dev"}, map[string]string{"MCPMESH_DRAIN_TIMEOUT": "2m"}, 2 * time.Minute, ""},
		{"flag beats environment", []string{"--dev", "--drain-timeout", "5s"}, map[string]string{"MCPMESH_DRAIN_TIMEOUT": "2m"}, 5 * time.Second, ""},
		{"zero", []string{"--dev", "--drain-timeout", "0s"}, nil, 0, "--drain-timeout 0s must be positive"},
		{"negative", []string{"--dev", "--drain-timeout", "-1s"}, nil, 0, "--drain-timeout -1s must be positive"},
		{"not a duration", []string{"--dev"}, map[string]string{"MCPMESH_DRAIN_TIMEOUT": "soon"}, 0, "MCPMESH_DRAIN_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, tc.err)
			if cfg == nil {
				return
			}
			if cfg.DrainTimeout != tc.want {
				t.Errorf("drain timeout %s, want %s", cfg.DrainTimeout, tc.want)
			}
		})
	}
}

func TestParseServeTLS(t *testing.T) {
	ca := newTestCA(t, "flags CA")
	files := ca.node(t, 7)
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := ca.node(t, 8) // a key that does not match files.cert
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		advertise string
		err       string
	}{
		{"no TLS: http", []string{"--dev"}, nil, "http://127.0.0.1:8000", ""},
		{"flags: https", []string{"--dev", "--tls-cert", files.cert, "--tls-key", files.key, "--tls-ca", ca.file}, nil, "https://127.0.0.1:8000", ""},
		{"environment: https", []string{"--dev"}, map[string]string{"MCPMESH_TLS_CERT": files.cert, "MCPMESH_TLS_KEY": files.key, "MCPMESH_TLS_CA": ca.file},
			"https://127.0.0.1:8000", ""},
		{"--advertise-url wins", []string{"--dev", "--tls-cert", files.cert, "--tls-key", files.key, "--advertise-url", "https://a.example.com"}, nil,
			"https://a.example.com", ""},
		{"--tls-ca alone", []string{"--dev", "--tls-ca", ca.file}, nil, "http://127.0.0.1:8000", ""},
		{"cert without key", []string{"--dev", "--tls-cert", files.cert}, nil, "", "without --tls-key"},
		{"key without cert", []string{"--dev"}, map[string]string{"MCPMESH_TLS_KEY": files.key}, "", "without --tls-cert"},
		{"unreadable cert", []string{"--dev", "--tls-cert", missing, "--tls-key", files.key}, nil, "", "--tls-cert: open " + missing},
		{"unreadable key", []string{"--dev", "--tls-cert", files.cert, "--tls-key", missing}, nil, "", "--tls-key: open " + missing},
		{"mismatched pair", []string{"--dev", "--tls-cert", files.cert, "--tls-key", other.key}, nil, "",
			"--tls-cert " + files.cert + " with --tls-key " + other.key},
		{"cert not PEM", []string{"--dev", "--tls-cert", bad, "--tls-key", files.key}, nil, "", "--tls-cert " + bad},
		{"unreadable CA", []string{"--dev", "--tls-ca", missing}, nil, "", "--tls-ca: open " + missing},
		{"CA not PEM", []string{"--dev", "--tls-ca", bad}, nil, "", "--tls-ca " + bad + ": no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(tc.args, mapEnv(tc.env), fixedHost("host"), io.Discard)
			if tc.err != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &ue) {
					t.Fatalf("err %v, want a usage error (exit 2) naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdvertiseURL != tc.advertise || (cfg.TLS.pair != nil) != cfg.TLS.enabled() || (cfg.TLS.roots != nil) != (cfg.TLS.CA != "") {
				t.Errorf("advertise %q, pair loaded %v, roots %v; want %q", cfg.AdvertiseURL, cfg.TLS.pair != nil, cfg.TLS.roots != nil, tc.advertise)
			}
		})
	}
}

func TestTLSExitStatus(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"serve: cert without key", []string{"serve", "--dev", "--tls-cert", "/nonexistent/cert.pem"}, nil,
			"--tls-cert /nonexistent/cert.pem is given without --tls-key"},
		{"client verb: unreadable --tls-ca", []string{"members", "--token", "x", "--tls-ca", "/nonexistent/ca.pem"}, nil,
			"--tls-ca: open /nonexistent/ca.pem"},
		{"client verb: unreadable MCPMESH_TLS_CA", []string{"members", "--token", "x"}, map[string]string{"MCPMESH_TLS_CA": "/nonexistent/ca.pem"},
			"--tls-ca: open /nonexistent/ca.pem"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run(tc.args, mapEnv(tc.env), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %q", code, stderr.String(), tc.want)
			}
		})
	}
}
