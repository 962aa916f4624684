package mcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// ServerConfig is one upstream MCP server in the common "mcpServers" JSON
// format: Command, Args and Env for a stdio server, URL and Headers for a
// Streamable HTTP one. Prefix, if set, names its tools and prompts
// "<prefix>__<name>" in the catalog.
type ServerConfig struct {
	Name    string            `json:"name,omitempty"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Prefix  string            `json:"prefix,omitempty"`
	// Service, if set, makes this upstream a provider of a replicated
	// service: its tools are listed as "<service>__<name>", and nodes that
	// run an upstream of the same service name form one service
	// (docs/services.md). It follows the rules of peer names and excludes
	// Prefix.
	Service string `json:"service,omitempty"`
	// Type is optional and only checked for consistency: "stdio" needs a
	// command, "http" or "streamable-http" a url.
	Type string `json:"type,omitempty"`
	// ProtocolVersion is the version the node offers the server (one of
	// UpstreamProtocolVersions; "" is DefaultUpstreamProtocol): with
	// "2026-07-28" the go-sdk client tries server/discover first, and a
	// server that knows it answers input_required itself, with its keys.
	ProtocolVersion string `json:"protocol_version,omitempty"`
	// Disabled entries are skipped by ParseServersFile (as other MCP hosts do).
	Disabled bool `json:"disabled,omitempty"`
}

// UpstreamProtocolVersions are the values an entry's ProtocolVersion may
// take: the default first.
var UpstreamProtocolVersions = []string{DefaultUpstreamProtocol, StatelessVersion}

// Transport is "stdio" for a command, "http" for a URL.
func (c ServerConfig) Transport() string {
	if c.Command != "" {
		return "stdio"
	}
	return "http"
}

var (
	cfgNameRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cfgPrefixRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,32}$`)
	// cfgServiceRe is the rule of peer names (cluster's peerNameRE).
	cfgServiceRe = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	cfgHeaderRe  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// Validate reports the first thing wrong with c, naming the field and the
// bad value.
func (c ServerConfig) Validate() error {
	checks := []func() error{c.validateName, c.validatePrefix, c.validateService, c.validateTarget, c.validateType,
		c.validateEnv, c.validateHeaders, c.validateProtocolVersion}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c ServerConfig) validateName() error {
	if !cfgNameRe.MatchString(c.Name) || strings.Contains(c.Name, "__") {
		return fmt.Errorf(`invalid name %q: use 1 to 64 of A-Z a-z 0-9 _ - without "__"`, c.Name)
	}
	return nil
}

func (c ServerConfig) validatePrefix() error {
	if c.Prefix != "" && !cfgPrefixRe.MatchString(c.Prefix) {
		return fmt.Errorf(`invalid prefix %q: use 1 to 32 of A-Z a-z 0-9 -`, c.Prefix)
	}
	return nil
}

func (c ServerConfig) validateService() error {
	switch {
	case c.Service == "":
		return nil
	case c.Prefix != "":
		return fmt.Errorf(`both "service" (%q) and "prefix" (%q) are set: a service's tools are listed as "<service>__<name>", give one of them`, c.Service, c.Prefix)
	case !cfgServiceRe.MatchString(c.Service):
		return fmt.Errorf(`invalid service %q: use 1 to 32 of a-z 0-9 - (the rules of peer names)`, c.Service)
	}
	return nil
}

// ListPrefix is the head of the names the entry's tools are listed under
// here: its service, else its prefix ("" for none).
func (c ServerConfig) ListPrefix() string {
	if c.Service != "" {
		return c.Service
	}
	return c.Prefix
}

func (c ServerConfig) validateTarget() error {
	switch {
	case c.Command == "" && c.URL == "":
		return errors.New(`missing "command" (stdio server) or "url" (Streamable HTTP server)`)
	case c.Command != "" && c.URL != "":
		return fmt.Errorf(`both "command" (%q) and "url" (%q) are set: give exactly one`, c.Command, c.URL)
	case c.URL != "" && len(c.Args) > 0:
		return fmt.Errorf(`"args" need a "command", not a "url" (%q)`, c.URL)
	case c.URL != "":
		return cfgValidateURL(c.URL)
	case strings.TrimSpace(c.Command) == "":
		return fmt.Errorf(`invalid command %q: it is blank`, c.Command)
	}
	return nil
}

func cfgValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid url %q: the scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid url %q: it has no host", raw)
	}
	return nil
}

func (c ServerConfig) validateType() error {
	switch c.Type {
	case "":
	case "stdio":
		if c.Command == "" {
			return fmt.Errorf(`type %q needs a "command"`, c.Type)
		}
	case "http", "streamable-http":
		if c.URL == "" {
			return fmt.Errorf(`type %q needs a "url"`, c.Type)
		}
	case "sse":
		return fmt.Errorf(`invalid type %q: the legacy SSE transport is not supported, use Streamable HTTP ("http")`, c.Type)
	default:
		return fmt.Errorf(`invalid type %q: use "stdio", "http" or "streamable-http"`, c.Type)
	}
	return nil
}

func (c ServerConfig) validateEnv() error {
	if len(c.Env) > 0 && c.Command == "" {
		return errors.New(`"env" needs a "command" (it sets the stdio server's environment)`)
	}
	for k, v := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf(`invalid env name %q: it must be non-empty, without "=" or NUL`, k)
		}
		if strings.ContainsRune(v, 0) {
			return fmt.Errorf("invalid env value for %q: it contains NUL", k)
		}
	}
	return nil
}

func (c ServerConfig) validateHeaders() error {
	if len(c.Headers) > 0 && c.URL == "" {
		return errors.New(`"headers" need a "url" (they are sent to the Streamable HTTP server)`)
	}
	for k, v := range c.Headers {
		if !cfgHeaderRe.MatchString(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("invalid value for header %q: it contains CR, LF or NUL", k)
		}
	}
	return nil
}

func (c ServerConfig) validateProtocolVersion() error {
	if c.ProtocolVersion == "" || slices.Contains(UpstreamProtocolVersions, c.ProtocolVersion) {
		return nil
	}
	return fmt.Errorf(`invalid protocol_version %q: use %q (the default) or %q`, c.ProtocolVersion,
		UpstreamProtocolVersions[0], UpstreamProtocolVersions[1])
}

// ParseServersFile reads {"mcpServers": {"<name>": {...}, ...}}, the format
// Claude Desktop, Cursor and most MCP hosts use. Each entry's name is its
// key; entries come back sorted by name, disabled ones left out. Unknown
// fields are tolerated (other hosts add their own). The first invalid
// enabled entry fails the whole file, with an error naming it.
func ParseServersFile(data []byte) ([]ServerConfig, error) {
	var file struct {
		Servers map[string]json.RawMessage `json:"mcpServers"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse servers file: %w", err)
	}
	if file.Servers == nil {
		return nil, errors.New(`parse servers file: no "mcpServers" object`)
	}
	names := make([]string, 0, len(file.Servers))
	for name := range file.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]ServerConfig, 0, len(names))
	for _, name := range names {
		cfg, err := cfgParseEntry(name, file.Servers[name])
		if err != nil {
			return nil, fmt.Errorf("parse servers file: server %q: %w", name, err)
		}
		if !cfg.Disabled {
			out = append(out, cfg)
		}
	}
	return out, nil
}

func cfgParseEntry(name string, raw json.RawMessage) (ServerConfig, error) {
	var cfg ServerConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("not a server object: %w", err)
	}
	if cfg.Name != "" && cfg.Name != name {
		return cfg, fmt.Errorf("its name field %q differs from its key", cfg.Name)
	}
	cfg.Name = name
	if cfg.Disabled {
		return cfg, nil
	}
	return cfg, cfg.Validate()
}
