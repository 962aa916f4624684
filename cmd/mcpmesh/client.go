package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
)

// The client verbs (members, peers, tools, call) talk to any node's REST
// API and MCP endpoint. Flags win over the environment (MCPMESH_GATEWAY,
// MCPMESH_TOKEN), which wins over the defaults.

const (
	defaultGateway = "http://127.0.0.1:8000"
	clientTimeout  = 5 * time.Minute
	// cliTokenTTL is the lifetime of a token minted from JWT_SECRET.
	cliTokenTTL   = 10 * time.Minute
	maxReplyBytes = 64 << 20
)

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// verbSpec describes one verb for its --help.
type verbSpec struct {
	name    string // "peers add"
	args    string // "URL [--name N]"
	summary string
	example string
}

// client is one verb's parsed common flags and its HTTP client.
type client struct {
	gateway string
	token   string
	output  string
	stdout  io.Writer
	stderr  io.Writer
	http    *http.Client
}

// clientFlags holds the common flags before they are resolved.
type clientFlags struct {
	gateway, token, output, tlsCA string
}

// newVerbFlags returns a flag set carrying the common flags; its output
// goes to buf so that --help can go to stdout and mistakes to stderr.
func newVerbFlags(spec verbSpec, buf *bytes.Buffer) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet("mcpmesh "+spec.name, flag.ContinueOnError)
	fs.SetOutput(buf)
	cf := &clientFlags{}
	fs.StringVar(&cf.gateway, "gateway", "", "node URL (default $MCPMESH_GATEWAY, else "+defaultGateway+")")
	fs.StringVar(&cf.token, "token", "", "bearer JWT (default $MCPMESH_TOKEN, else one minted from $JWT_SECRET)")
	fs.StringVar(&cf.output, "o", "table", "output: table or json")
	fs.StringVar(&cf.tlsCA, "tls-ca", "", "PEM CA certificate(s) that verify an https node (default $MCPMESH_TLS_CA, else the system roots)")
	fs.Usage = func() {
		fmt.Fprintf(buf, "Usage: mcpmesh %s [flags] %s\n\n%s\n\nExample:\n  %s\n\nFlags:\n",
			spec.name, spec.args, spec.summary, spec.example)
		fs.PrintDefaults()
	}
	return fs, cf
}

// parseVerb parses args with flags allowed before, between and after the
// positional arguments, which it returns.
func parseVerb(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// resolve turns the common flags into a client.
func (cf *clientFlags) resolve(env verbEnv) (*client, error) {
	getenv := env.getenv
	c := &client{gateway: first(cf.gateway, getenv("MCPMESH_GATEWAY"), defaultGateway), output: cf.output,
		stdout: env.stdout, stderr: env.stderr}
	if c.output != "table" && c.output != "json" {
		return nil, usagef("-o %q must be table or json", c.output)
	}
	u, err := url.Parse(c.gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--gateway %q must be an http:// or https:// URL such as %s", c.gateway, defaultGateway)
	}
	c.gateway = strings.TrimRight(c.gateway, "/")
	if c.http, err = clientHTTP(first(cf.tlsCA, getenv("MCPMESH_TLS_CA"))); err != nil {
		return nil, err
	}
	c.token, err = clientToken(cf.token, getenv)
	return c, err
}

// clientHTTP is the verbs' HTTP client: https nodes verified against the
// CA file ca, or ("") the system roots.
func clientHTTP(ca string) (*http.Client, error) {
	if ca == "" {
		return &http.Client{Timeout: clientTimeout}, nil
	}
	roots, err := loadCA(ca)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: clientTimeout, Transport: t}, nil
}

// clientToken is --token, else MCPMESH_TOKEN, else a short-lived admin
// token minted from JWT_SECRET (or MCPMESH_JWT_SECRET).
func clientToken(flagValue string, getenv func(string) string) (string, error) {
	if tok := first(flagValue, getenv("MCPMESH_TOKEN")); tok != "" {
		return tok, nil
	}
	secret := first(getenv("MCPMESH_JWT_SECRET"), getenv("JWT_SECRET"))
	if secret == "" {
		return "", usagef("no token: pass --token or set MCPMESH_TOKEN (mint one with `mcpmesh token --username NAME`), or set JWT_SECRET")
	}
	tok, err := gateway.MintToken([]byte(secret), "mcpmesh-cli", gateway.ScopeAdmin, cliTokenTTL)
	if err != nil {
		return "", usagef("mint a token from JWT_SECRET: %v", err)
	}
	return tok, nil
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// do sends one request (body encoded as JSON when not nil) and returns the
// answer's body; a non-2xx answer becomes an error carrying the server's
// message.
func (c *client) do(method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.gateway+path, rd)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach gateway %s: %w", c.gateway, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s%s: %w", method, c.gateway, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &serverError{msg: serverMessage(raw, resp.Status), status: resp.StatusCode, body: raw}
	}
	return raw, nil
}

// serverError is a non-2xx answer: the server's message, status and body.
type serverError struct {
	msg    string
	status int
	body   json.RawMessage
}

func (e *serverError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

// serverMessage is the "error" of an error body: a string, or a JSON-RPC
// error object's message; else the body itself, else the status.
func serverMessage(raw []byte, status string) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
		var s string
		var obj struct{ Message string }
		if json.Unmarshal(e.Error, &s) == nil && s != "" {
			return s
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
	}
	if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 500 {
		return s
	}
	return status
}

// getJSON GETs path and decodes it into v, returning the raw body too.
func (c *client) getJSON(path string, v any) (json.RawMessage, error) {
	raw, err := c.do(http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("answer of GET %s is not the expected JSON: %w", path, err)
	}
	return raw, nil
}

// printJSON writes raw indented, for -o json.
func (c *client) printJSON(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := c.stdout.Write(buf.Bytes())
	return err
}

// clientVerb runs one verb with its positional arguments.
type clientVerb func(c *client, pos []string) error

// runVerb parses args for spec, checks the positional count (min..max,
// max < 0 for any), resolves the client and runs fn. It returns the exit
// status: 0, 1 for a failure, 2 for a usage error.
func runVerb(spec verbSpec, min, max int, args []string, env verbEnv, fn clientVerb, extra func(*flag.FlagSet)) int {
	var buf bytes.Buffer
	fs, cf := newVerbFlags(spec, &buf)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseVerb(fs, args)
	if err == nil && (len(pos) < min || (max >= 0 && len(pos) > max)) {
		err = argsError(spec, pos)
	}
	var c *client
	if err == nil {
		c, err = cf.resolve(env)
	}
	if err == nil {
		err = fn(c, pos)
	}
	return verbStatus(spec, err, &buf, env)
}

func argsError(spec verbSpec, pos []string) error {
	got := "none"
	if len(pos) > 0 {
		got = fmt.Sprintf("%q", pos)
	}
	want := "no arguments"
	if spec.args != "" && !strings.HasPrefix(spec.args, "[--") {
		want = "arguments " + spec.args
	}
	return usagef("want %s, got %s", want, got)
}

// verbStatus prints what went wrong (or the help) and returns the status.
func verbStatus(spec verbSpec, err error, help *bytes.Buffer, env verbEnv) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errToolFailed):
		return 1
	case errors.Is(err, flag.ErrHelp):
		io.Copy(env.stdout, help)
		return 0
	case errors.As(err, &ue):
		if help.Len() == 0 { // not a flag error, which the flag set printed with the usage
			fmt.Fprintf(env.stderr, "mcpmesh %s: %v\nRun 'mcpmesh %s --help' for usage.\n", spec.name, err, spec.name)
		} else {
			io.Copy(env.stderr, help)
		}
		return 2
	}
	fmt.Fprintf(env.stderr, "mcpmesh %s: %v\n", spec.name, err)
	return 1
}

// verbEnv is the process around a verb.
type verbEnv struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}
