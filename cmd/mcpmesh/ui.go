package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// `mcpmesh ui`: the dashboard's URL with a fresh short-lived admin token in
// its fragment (never sent to the node: the page reads it and keeps it in
// the tab), printed, and opened in a browser with --open.

const uiUsage = `Usage: mcpmesh ui [--gateway URL] [--secret S] [--exp DURATION] [--username NAME] [--open]

Print the dashboard's URL on a node, signed in with a fresh admin token
(default lifetime 1h), and with --open open it (xdg-open).

Example:
  mcpmesh ui --gateway http://127.0.0.1:8000 --open

Flags:
`

// defaultUIExp is the lifetime of the token `mcpmesh ui` mints (--exp 1h).
const defaultUIExp = time.Hour

// uiConfig is `mcpmesh ui`'s configuration.
type uiConfig struct {
	gateway  string
	username string
	secret   []byte
	exp      time.Duration
	open     bool
	devNote  bool
}

func parseUI(args []string, getenv func(string) string, out io.Writer) (*uiConfig, error) {
	fs := flag.NewFlagSet("mcpmesh ui", flag.ContinueOnError)
	fs.SetOutput(out)
	gw := fs.String("gateway", "", "node URL (default $MCPMESH_GATEWAY, else "+defaultGateway+")")
	secret := fs.String("secret", "", "HS256 secret of the ring (default $JWT_SECRET, else the development secret)")
	exp := fs.String("exp", "1h", "the token's lifetime: a Go duration (15m, 2h), days (1d) or minutes")
	user := fs.String("username", "ui", "subject (sub claim) of the token")
	open := fs.Bool("open", false, "open the URL in a browser (xdg-open)")
	fs.Usage = func() { fmt.Fprint(out, uiUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("ui takes no arguments, got %q", fs.Args())
	}
	cfg := &uiConfig{username: strings.TrimSpace(*user), open: *open}
	var err error
	if cfg.gateway, err = uiGateway(*gw, getenv); err != nil {
		return nil, err
	}
	if cfg.exp, err = parseExp(*exp); err != nil {
		return nil, usagef("%v", err)
	}
	cfg.secret, cfg.devNote = tokenSecret(*secret, getenv)
	return cfg, cfg.check()
}

func (cfg *uiConfig) check() error {
	if cfg.username == "" {
		return usagef("--username must not be empty")
	}
	if err := gateway.CheckSecret(cfg.secret); err != nil {
		return usagef("--secret / JWT_SECRET: %v", err)
	}
	return nil
}

// uiGateway is the node's base URL: the flag, else $MCPMESH_GATEWAY, else
// the default; an absolute http(s) URL with no query or fragment.
func uiGateway(flagValue string, getenv func(string) string) (string, error) {
	raw := flagValue
	for _, v := range []string{getenv("MCPMESH_GATEWAY"), defaultGateway} {
		if raw == "" {
			raw = v
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", usagef("--gateway %q must be a node's http or https URL, such as %s", raw, defaultGateway)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// uiURL is the dashboard's URL on gw signed in with token.
func uiURL(gw, token string) string { return gw + "/ui/#token=" + url.QueryEscape(token) }

// openURL opens a URL in the desktop's browser; a variable for the tests.
var openURL = func(u string) error {
	cmd := exec.Command("xdg-open", u)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--open: %w (the URL is printed above)", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// runUI prints the URL (and only it) on stdout and opens it with --open.
func runUI(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseUI(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.devNote {
		fmt.Fprintln(stderr, "mcpmesh ui: no --secret and no JWT_SECRET: signing with the development secret (accepted only by `serve --dev`)")
	}
	tok, err := gateway.MintToken(cfg.secret, cfg.username, gateway.ScopeAdmin, cfg.exp)
	if err != nil {
		return err
	}
	u := uiURL(cfg.gateway, tok)
	if _, err := fmt.Fprintln(stdout, u); err != nil {
		return err
	}
	if !cfg.open {
		return nil
	}
	return openURL(u)
}
