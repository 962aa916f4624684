package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// tokenConfig is `mcpmesh token`'s configuration.
type tokenConfig struct {
	Username string
	Secret   []byte
	Exp      time.Duration
	Scope    string
	Groups   []string // the groups claim (--group, repeatable)
	// DevNote is set when the development secret was used.
	DevNote bool
}

const tokenUsage = `Usage: mcpmesh token --username NAME [--secret S] [--exp DURATION] [--scope admin|mcp] [--group NAME]...

Print a JWT (HS256) for the nodes that share the secret, and nothing else.

Example:
  export MCPMESH_TOKEN=$(mcpmesh token --username admin@example.com --exp 24h)

Flags:
`

// parseToken reads token's flags. An empty --secret means JWT_SECRET (or
// MCPMESH_JWT_SECRET), else the development secret.
func parseToken(args []string, getenv func(string) string, out io.Writer) (*tokenConfig, error) {
	fs := flag.NewFlagSet("mcpmesh token", flag.ContinueOnError)
	fs.SetOutput(out)
	user := fs.String("username", "", "subject (sub claim) of the token, e.g. admin@example.com (required)")
	secret := fs.String("secret", "", "HS256 secret (default $JWT_SECRET, else the development secret)")
	exp := fs.String("exp", "168h", "lifetime: a Go duration (90m, 168h), days (7d) or plain minutes (10080)")
	scope := fs.String("scope", gateway.ScopeAdmin, "scope: admin (management and MCP) or mcp (MCP only)")
	var groups groupList
	fs.Var(&groups, "group", "a group the token names (its groups claim, for access rules' group:NAME); repeatable")
	fs.Usage = func() {
		fmt.Fprint(out, tokenUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("token takes no arguments, got %q", fs.Args())
	}
	cfg := &tokenConfig{Username: *user, Scope: *scope, Groups: groups}
	var err error
	if cfg.Exp, err = parseExp(*exp); err != nil {
		return nil, err
	}
	cfg.Secret, cfg.DevNote = tokenSecret(*secret, getenv)
	return cfg, cfg.check()
}

func tokenSecret(flagValue string, getenv func(string) string) ([]byte, bool) {
	for _, v := range []string{flagValue, getenv("MCPMESH_JWT_SECRET"), getenv("JWT_SECRET")} {
		if v != "" {
			return []byte(v), false
		}
	}
	return []byte(gateway.DevSecret), true
}

func (cfg *tokenConfig) check() error {
	var errs []error
	if strings.TrimSpace(cfg.Username) == "" {
		errs = append(errs, errors.New("--username is required"))
	}
	if cfg.Scope != gateway.ScopeAdmin && cfg.Scope != gateway.ScopeMCP {
		errs = append(errs, fmt.Errorf("--scope %q must be admin or mcp", cfg.Scope))
	}
	if slices.Contains(cfg.Groups, "") {
		errs = append(errs, errors.New("--group must name a group: an empty name is not one"))
	}
	if err := gateway.CheckSecret(cfg.Secret); err != nil {
		errs = append(errs, fmt.Errorf("--secret / JWT_SECRET: %w", err))
	}
	return errors.Join(errs...)
}

// maxExp bounds --exp (and keeps the arithmetic far from overflow).
const maxExp = 100 * 365 * 24 * time.Hour

// parseExp reads --exp: a Go duration, a number of days ("7d"), or a bare
// number of minutes (as mcpgateway's create_jwt_token takes it).
func parseExp(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case strings.HasSuffix(s, "d") && isDigits(strings.TrimSuffix(s, "d")):
		d, err = scaled(strings.TrimSuffix(s, "d"), 24*time.Hour)
	case isDigits(s):
		d, err = scaled(s, time.Minute)
	}
	if err != nil || d <= 0 || d > maxExp {
		return 0, fmt.Errorf("--exp %q must be a positive duration of at most 100 years, such as 90m, 168h, 7d or a number of minutes", s)
	}
	return d, nil
}

func scaled(digits string, unit time.Duration) (time.Duration, error) {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > int64(maxExp/unit) {
		return 0, errors.New("too large")
	}
	return time.Duration(n) * unit, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// runToken prints only the token and a newline on stdout.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseToken(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.DevNote {
		fmt.Fprintln(stderr, "mcpmesh token: no --secret and no JWT_SECRET: signing with the development secret (accepted only by `serve --dev`)")
	}
	tok, err := gateway.MintTokenGroups(cfg.Secret, cfg.Username, cfg.Scope, cfg.Exp, cfg.Groups)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// groupList is the repeatable --group flag: each use adds one name, kept
// exactly as given (spaces and commas included).
type groupList []string

func (g *groupList) String() string { return strings.Join(*g, ",") }

func (g *groupList) Set(v string) error {
	*g = append(*g, v)
	return nil
}
