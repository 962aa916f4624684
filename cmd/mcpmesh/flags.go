package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// serveConfig is `mcpmesh serve`'s configuration after flags, environment
// and defaults have been applied (in that order of precedence).
type serveConfig struct {
	Name           string
	HTTP           string
	AdvertiseURL   string
	DataDir        string
	Config         string
	Demo           bool
	Dev            bool
	AllowedOrigins []string
	// AllowedHosts are the Host names (a balancer's, an ingress's) allowed
	// besides the advertised host and loopback.
	AllowedHosts []string
	LogFormat    string
	LogLevel     string

	// Secret is the JWT secret; DevSecret is set when it is the
	// development secret because --dev was given without one.
	Secret    []byte
	DevSecret bool

	// The ring. Redis, when set, seeds it (see startSeed).
	Gossip          string
	GossipAdvertise string
	Join            []string
	GossipKey       string
	Redis           string
	PeerTimeout     time.Duration
	// ReconnectTimeout is how long a failed member is retried, then reaped.
	ReconnectTimeout time.Duration
	AutoTrust        string
	// ResetKeyring drops the stored keyring before gossip starts.
	ResetKeyring bool

	// MaxSessions bounds the node's MCP client sessions,
	// MaxSessionsPerPrincipal those of one token subject.
	MaxSessions             int
	MaxSessionsPerPrincipal int
	// Byte bounds of a listing and of an answer, per upstream or peer.
	MaxCatalogBytes, MaxResultBytes int64
	// Connections and upstream calls, bounded in time (docs/limits.md).
	Conns           gateway.ConnLimits
	UpstreamTimeout time.Duration
	// Held calls of 2026-07-28 callers (docs/upstreams.md): how long one
	// waits for its retry, and how many the node holds at once.
	InputTimeout    time.Duration
	MaxHeldRequests int
	// DrainTimeout bounds how long calls in flight may run after SIGTERM
	// before they are cut (docs/limits.md#draining).
	DrainTimeout time.Duration
	// Audit is the audit log and the rate limiters' bound (flags_audit.go).
	Audit auditConfig
	// MetricsToken, when set, is the bearer token GET /metrics needs.
	MetricsToken string
	// TLS is the node's certificate and the CA of other nodes (flags_tls.go).
	TLS tlsConfig
	// OAuth (--oauth-*, flags_oauth.go): nil without --oauth-issuer.
	OAuth *gateway.OAuthConfig
	// Trace is where spans go (flags_trace.go).
	Trace traceConfig
}

// envAliases are the plain environment names some flags also read, after
// their MCPMESH_ name.
var envAliases = map[string]string{"jwt-secret": "JWT_SECRET", "join": "JOIN", "redis": "REDIS_URL"}

// envNames lists the environment variables of flag name, in order.
func envNames(name string) []string {
	names := []string{"MCPMESH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
	if alias, ok := envAliases[name]; ok {
		names = append(names, alias)
	}
	return names
}

// serveFlags holds the raw flag values before defaults and checks.
type serveFlags struct {
	name, http, advertise, dataDir, secret, config, origins string
	hosts                                                   string
	logFormat, logLevel                                     string
	gossip, gossipAdvertise, join, gossipKey, redis, trust  string
	demo, dev, resetKeyring                                 bool
	peerTimeout, reconnectTimeout                           time.Duration
	maxSessions, maxSessionsPerPrincipal                    int
	maxCatalog, maxResult                                   byteSize
	readTimeout, writeTimeout, idleTimeout, sseKeepAlive    time.Duration
	upstreamTimeout, inputTimeout, drainTimeout             time.Duration
	maxUnauthConns, maxHeld                                 int
	audit                                                   auditConfig
	metricsToken                                            string
	tls                                                     tlsConfig
	oauth                                                   oauthFlags
	trace                                                   traceConfig
}

func newServeFlagSet(f *serveFlags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mcpmesh serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.name, "name", "", "node name, [a-z0-9-] (default: the host name, lowered)")
	fs.StringVar(&f.http, "http", "", "HTTP listen address (default 127.0.0.1:$PORT, PORT default 8000)")
	fs.StringVar(&f.advertise, "advertise-url", "", "URL other nodes and clients reach this node at (default http://<--http>, https:// with --tls-cert)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory of the node's Badger store (default ./data/<name>)")
	fs.StringVar(&f.secret, "jwt-secret", "", "HS256 secret for bearer tokens, at least 32 bytes (env JWT_SECRET)")
	fs.StringVar(&f.config, "config", "", "file of upstream MCP servers in the mcpServers JSON format")
	fs.BoolVar(&f.demo, "demo", false, "serve the demo tools whoami, echo, add and sleep")
	fs.BoolVar(&f.dev, "dev", false, "development mode: without a secret, use the fixed development secret")
	fs.StringVar(&f.origins, "allowed-origins", "", "comma list of browser origins allowed to call MCP (default none)")
	fs.StringVar(&f.hosts, "allowed-hosts", "", "comma list of Host names a load balancer or ingress uses (name: any port; name:port: that port), allowed besides the advertised host and loopback")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.gossip, "gossip", "", "gossip bind address (default 127.0.0.1:<PORT+1000>)")
	fs.StringVar(&f.gossipAdvertise, "gossip-advertise", "", "gossip address advertised to other nodes")
	fs.StringVar(&f.join, "join", "", "comma list of nodes to join: gossip host:port, node URLs, or dns:NAME[:PORT] for every address of NAME (env JOIN)")
	fs.StringVar(&f.gossipKey, "gossip-key", "", "base64 AES key of the ring (default derived from the JWT secret; a stored keyring wins)")
	fs.BoolVar(&f.resetKeyring, "reset-keyring", false, "forget the keyring stored by `mcpmesh keyring` and start from --gossip-key (for a node that missed a rotation)")
	fs.StringVar(&f.redis, "redis", "", "Redis URL where nodes announce and find each other's gossip addresses (env REDIS_URL)")
	fs.DurationVar(&f.peerTimeout, "peer-timeout", 30*time.Second, "deadline of a call routed to a peer")
	fs.DurationVar(&f.reconnectTimeout, "reconnect-timeout", 72*time.Hour, "how long a failed member is retried before it is forgotten (its peer record stays, offline)")
	f.maxCatalog, f.maxResult = mcp.DefaultMaxCatalogBytes, mcp.DefaultMaxResultBytes
	fs.Var(&f.maxCatalog, "max-catalog-bytes", "bound of one upstream's or peer's listing (its entries as JSON, and each page); entries past it are left out")
	fs.Var(&f.maxResult, "max-result-bytes", "bound of one answer from an upstream or a peer; a larger one is not read and is reported as result_too_large")
	fs.StringVar(&f.metricsToken, "metrics-token", "", "bearer token GET /metrics needs (default: /metrics is open)")
	fs.StringVar(&f.trust, "auto-trust", "", "trust every ring member at this level: full, discover or none")
	fs.IntVar(&f.maxSessions, "max-sessions", mcp.DefaultMaxSessions, "MCP sessions of clients on this node (other nodes' links have a budget of their own)")
	fs.IntVar(&f.maxSessionsPerPrincipal, "max-sessions-per-principal", mcp.DefaultMaxSessionsPerPrincipal, "MCP sessions of one token subject on this node")
	connFlags(fs, f)
	auditFlags(fs, &f.audit)
	tlsFlags(fs, &f.tls)
	addOAuthFlags(fs, &f.oauth)
	traceFlags(fs, &f.trace)
	fs.Usage = func() {
		fmt.Fprint(out, serveUsage)
		fs.PrintDefaults()
	}
	return fs
}

// connFlags are the bounds of connections and upstream calls.
func connFlags(fs *flag.FlagSet, f *serveFlags) {
	fs.DurationVar(&f.readTimeout, "read-timeout", gateway.DefaultReadTimeout, "a request's body must arrive within this, from the end of its headers")
	fs.DurationVar(&f.writeTimeout, "write-timeout", gateway.DefaultWriteTimeout, "an answer, or one event of an SSE stream, must be written within this")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "close a keep-alive connection idle this long")
	fs.DurationVar(&f.sseKeepAlive, "sse-keepalive", gateway.DefaultSSEKeepAlive, "send an SSE comment line this often on an open SSE stream")
	fs.IntVar(&f.maxUnauthConns, "max-unauthenticated-conns", gateway.DefaultMaxUnauthConns, "connections one client address may hold before one of them carries a valid token; more get 429")
	fs.DurationVar(&f.upstreamTimeout, "upstream-timeout", gateway.DefaultUpstreamTimeout, "deadline of a call to one of this node's upstream servers")
	fs.DurationVar(&f.inputTimeout, "input-timeout", mcp.DefaultInputTimeout, "how long a held upstream call waits for the 2026-07-28 client's retry with the input it asked for")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long calls in flight may run before they are cut (new ones get 503 at once)")
	fs.IntVar(&f.maxHeld, "max-held-requests", mcp.DefaultMaxHeldRequests, "upstream calls this node holds at once waiting for their clients' input; more are refused")
}

const serveUsage = `Usage: mcpmesh serve [flags]

Run a node: MCP on /mcp, REST on /api, a member of the gossip ring.

Examples:
  mcpmesh serve --dev --demo                          # a development node on :8000
  JWT_SECRET=... mcpmesh serve --name east --http 0.0.0.0:8001 \
      --gossip 0.0.0.0:9001 --advertise-url http://10.0.0.2:8001 --join 10.0.0.1:9000

Flags (also MCPMESH_<FLAG>, and PORT, JWT_SECRET, JOIN, REDIS_URL; flags win):
`

// parseServe reads serve's flags, then fills every flag not given from the
// environment (getenv), then applies the defaults, then checks the result.
func parseServe(args []string, getenv func(string) string, hostname func() (string, error), out io.Writer) (*serveConfig, error) {
	var f serveFlags
	fs := newServeFlagSet(&f, out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	cfg, err := f.resolve(getenv, hostname)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.check()
}

// applyEnv sets each flag that was not given on the command line from the
// first non-empty environment variable of envNames.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var errs []error
	fs.VisitAll(func(fl *flag.Flag) {
		if given[fl.Name] {
			return
		}
		for _, env := range envNames(fl.Name) {
			if v := getenv(env); v != "" {
				if err := fs.Set(fl.Name, v); err != nil {
					errs = append(errs, fmt.Errorf("environment variable %s: %w", env, err))
				}
				return
			}
		}
	})
	return errors.Join(errs...)
}

// resolve applies the defaults that depend on other values.
func (f *serveFlags) resolve(getenv func(string) string, hostname func() (string, error)) (*serveConfig, error) {
	cfg := &serveConfig{
		Name: f.name, HTTP: f.http, AdvertiseURL: f.advertise, DataDir: f.dataDir, Config: f.config,
		Demo: f.demo, Dev: f.dev, AllowedOrigins: splitOrigins(f.origins), AllowedHosts: splitHosts(f.hosts), LogFormat: f.logFormat,
		LogLevel: f.logLevel, Gossip: f.gossip, GossipAdvertise: f.gossipAdvertise, Join: splitList(f.join),
		GossipKey: f.gossipKey, Redis: f.redis, PeerTimeout: f.peerTimeout, ReconnectTimeout: f.reconnectTimeout, AutoTrust: f.trust,
		ResetKeyring: f.resetKeyring, MaxSessions: f.maxSessions, MaxSessionsPerPrincipal: f.maxSessionsPerPrincipal,
		MaxCatalogBytes: int64(f.maxCatalog), MaxResultBytes: int64(f.maxResult), UpstreamTimeout: f.upstreamTimeout,
		InputTimeout: f.inputTimeout, MaxHeldRequests: f.maxHeld, DrainTimeout: f.drainTimeout, Audit: f.audit,
		MetricsToken: f.metricsToken, TLS: f.tls, Trace: f.trace,
		Conns: gateway.ConnLimits{ReadTimeout: f.readTimeout, WriteTimeout: f.writeTimeout, IdleTimeout: f.idleTimeout,
			SSEKeepAlive: f.sseKeepAlive, MaxUnauthenticated: f.maxUnauthConns},
	}
	if cfg.Name == "" {
		host, err := hostname()
		if err != nil {
			return nil, fmt.Errorf("no --name given and the host name is unknown: %w", err)
		}
		cfg.Name = sanitizeName(host)
	}
	if err := cfg.defaultAddrs(getenv); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(".", "data", cfg.Name)
	}
	var err error
	if cfg.OAuth, err = f.oauth.config(); err != nil {
		return nil, err
	}
	return cfg, cfg.resolveSecret(f.secret)
}

// defaultAddrs fills --http from PORT, and --advertise-url and --gossip
// from --http.
func (cfg *serveConfig) defaultAddrs(getenv func(string) string) error {
	if cfg.HTTP == "" {
		port := getenv("PORT")
		if port == "" {
			port = "8000"
		}
		if _, err := parsePort(port); err != nil {
			return fmt.Errorf("environment variable PORT: %w", err)
		}
		cfg.HTTP = net.JoinHostPort("127.0.0.1", port)
	}
	host, portText, err := net.SplitHostPort(cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %q must be host:port: %w", cfg.HTTP, err)
	}
	port, err := parsePort(portText)
	if err != nil {
		return fmt.Errorf("--http %q: %w", cfg.HTTP, err)
	}
	if cfg.AdvertiseURL == "" {
		scheme := "http://"
		if cfg.TLS.enabled() {
			scheme = "https://"
		}
		cfg.AdvertiseURL = scheme + net.JoinHostPort(advertiseHost(host), portText)
	}
	if cfg.Gossip == "" && port != 0 && port+1000 <= 65535 {
		cfg.Gossip = net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1000))
	}
	return nil
}

// advertiseHost turns a wildcard or empty listen host into a loopback one.
func advertiseHost(host string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return host
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %q must be a number from 0 to 65535", s)
	}
	return p, nil
}

// resolveSecret applies the secret rules: a given secret must be long
// enough; none at all is refused unless --dev, which uses DevSecret.
func (cfg *serveConfig) resolveSecret(secret string) error {
	switch {
	case secret != "":
		if err := gateway.CheckSecret([]byte(secret)); err != nil {
			return fmt.Errorf("--jwt-secret / JWT_SECRET: %w", err)
		}
		cfg.Secret = []byte(secret)
	case cfg.Dev:
		cfg.Secret, cfg.DevSecret = []byte(gateway.DevSecret), true
	default:
		return errors.New("no JWT secret: set --jwt-secret or JWT_SECRET (at least 32 bytes), " +
			"or pass --dev to run with the public development secret")
	}
	return nil
}

var validNodeName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// check validates the values that have a fixed form.
func (cfg *serveConfig) check() error {
	var errs []error
	if !validNodeName.MatchString(cfg.Name) {
		errs = append(errs, fmt.Errorf("--name %q must be 1-63 characters of [a-z0-9-], not starting or ending with '-'", cfg.Name))
	}
	if u, err := url.Parse(cfg.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--advertise-url %q must be an absolute http or https URL", cfg.AdvertiseURL))
	}
	for _, o := range cfg.AllowedOrigins {
		if !validOrigin(o) {
			errs = append(errs, fmt.Errorf("--allowed-origins: %q is not an origin like https://app.example.com or *", o))
		}
	}
	for i, h := range cfg.AllowedHosts {
		if err := mcp.CheckAllowedHost(h); err != nil {
			errs = append(errs, fmt.Errorf("--allowed-hosts: entry %d: %w", i+1, err))
		}
	}
	errs = append(errs, oneOf("--log-format", cfg.LogFormat, "text", "json"),
		oneOf("--log-level", cfg.LogLevel, "debug", "info", "warn", "error"))
	if cfg.ReconnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--reconnect-timeout %s must be positive", cfg.ReconnectTimeout))
	}
	if cfg.AutoTrust != "" {
		errs = append(errs, oneOf("--auto-trust", cfg.AutoTrust, "full", "discover", "none"))
	}
	if cfg.PeerTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--peer-timeout %s must be positive", cfg.PeerTimeout))
	}
	if cfg.MaxHeldRequests <= 0 {
		errs = append(errs, fmt.Errorf("--max-held-requests %d must be positive", cfg.MaxHeldRequests))
	}
	errs = append(errs, checkJoin(cfg.Join)...)
	errs = append(errs, checkBound("--max-catalog-bytes", cfg.MaxCatalogBytes), checkBound("--max-result-bytes", cfg.MaxResultBytes),
		cfg.checkSessions(), cfg.Audit.check(), cfg.TLS.check(), cfg.Trace.check())
	return errors.Join(append(errs, cfg.checkConns()...)...)
}

// checkSessions validates the session bounds.
func (cfg *serveConfig) checkSessions() error {
	switch {
	case cfg.MaxSessions <= 0:
		return fmt.Errorf("--max-sessions %d must be positive", cfg.MaxSessions)
	case cfg.MaxSessionsPerPrincipal <= 0:
		return fmt.Errorf("--max-sessions-per-principal %d must be positive", cfg.MaxSessionsPerPrincipal)
	case cfg.MaxSessionsPerPrincipal > cfg.MaxSessions:
		return fmt.Errorf("--max-sessions-per-principal %d must not exceed --max-sessions %d",
			cfg.MaxSessionsPerPrincipal, cfg.MaxSessions)
	}
	return nil
}

// checkConns checks the bounds of connections and upstream calls: each must
// be positive.
func (cfg *serveConfig) checkConns() []error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--read-timeout", cfg.Conns.ReadTimeout}, {"--write-timeout", cfg.Conns.WriteTimeout}, {"--idle-timeout", cfg.Conns.IdleTimeout},
		{"--sse-keepalive", cfg.Conns.SSEKeepAlive}, {"--upstream-timeout", cfg.UpstreamTimeout}, {"--input-timeout", cfg.InputTimeout},
		{"--drain-timeout", cfg.DrainTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.flag, d.v))
		}
	}
	if cfg.Conns.MaxUnauthenticated <= 0 {
		errs = append(errs, fmt.Errorf("--max-unauthenticated-conns %d must be positive", cfg.Conns.MaxUnauthenticated))
	}
	return errs
}

func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q must be one of %s", flagName, v, strings.Join(allowed, ", "))
}

func validOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.User == nil
}

// sanitizeName lowers a host name and turns what is not [a-z0-9-] into '-'.
func sanitizeName(host string) string {
	b := []byte(strings.ToLower(host))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			b[i] = '-'
		}
	}
	name := strings.Trim(string(b), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	if name == "" {
		return "mcpmesh"
	}
	return name
}

// splitList splits a comma list, trimming blanks and dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitHosts splits --allowed-hosts at commas, trimming blanks around
// each entry but keeping empty ones, so that check refuses them.
func splitHosts(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.Split(s, ",")
	for i, h := range out {
		out[i] = strings.TrimSpace(h)
	}
	return out
}

// splitOrigins splits --allowed-origins; a trailing slash is dropped, as
// browsers send an Origin without one.
func splitOrigins(s string) []string {
	out := splitList(s)
	for i, o := range out {
		out[i] = strings.TrimSuffix(o, "/")
	}
	return out
}
