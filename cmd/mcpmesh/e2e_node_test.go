package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// testSecret is the JWT secret of every test node (at least 32 bytes).
const testSecret = "e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz"

const readyTimeout = 30 * time.Second

// serverEntry is one upstream in the common mcpServers JSON format.
type serverEntry struct {
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Prefix  string            `json:"prefix,omitempty"`
	Service string            `json:"service,omitempty"`
	// ProtocolVersion is the version the node offers the server ("": the
	// default, 2025-11-25).
	ProtocolVersion string `json:"protocol_version,omitempty"`
}

type nodeOptions struct {
	name    string                 // default "e2e-node"
	demo    bool                   // --demo
	servers map[string]serverEntry // written to a --config file when not empty
	dataDir string                 // default a fresh t.TempDir()
	extra   []string               // more serve flags
	bin     string                 // the mcpmesh binary; default this tree's
	tls     *nodeTLS               // serve HTTPS with these files (e2e_tls_test.go)
}

// node is one running `mcpmesh serve`.
type node struct {
	name    string
	url     string // http://127.0.0.1:PORT
	token   string // admin token made with `mcpmesh token`
	dataDir string
	proc    *proc
	client  *http.Client // nil: httpClient (plain HTTP)
}

// http is the client that reaches n: one trusting its test CA when it
// serves HTTPS.
func (n *node) http() *http.Client {
	if n.client != nil {
		return n.client
	}
	return httpClient
}

// mcpURL is the node's MCP endpoint.
func (n *node) mcpURL() string { return n.url + "/mcp/http" }

// startNode starts a node on free loopback ports and waits until /ready
// answers 200. It is stopped (SIGTERM) when the test ends.
func startNode(t testing.TB, o nodeOptions) *node {
	t.Helper()
	bin := o.bin
	if bin == "" {
		bin = buildBinaries(t).mcpmesh
	}
	if o.name == "" {
		o.name = "e2e-node"
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	args := serveArgs(t, o)
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		p := startProc(t, "mcpmesh node "+o.name, bin, append(args, "--http", addr)...)
		n := &node{name: o.name, url: "http://" + addr, dataDir: o.dataDir, proc: p}
		if o.tls != nil {
			n.url, n.client = "https://"+addr, o.tls.client
		}
		if waitReady(t, n) {
			n.token = makeToken(t, "--username", "admin@example.com", "--secret", testSecret)
			return n
		}
		inUse := strings.Contains(p.out.String(), "address already in use")
		if attempt == 2 || !inUse {
			t.Fatalf("node %s exited before it was ready (%s):\n%s", o.name, p.exitText(), p.out.String())
		}
	}
}

func serveArgs(t testing.TB, o nodeOptions) []string {
	args := []string{"serve", "--name", o.name, "--data-dir", o.dataDir, "--jwt-secret", testSecret}
	if o.demo {
		args = append(args, "--demo")
	}
	if len(o.servers) > 0 {
		args = append(args, "--config", writeConfig(t, o.servers))
	}
	if o.tls != nil {
		args = append(args, o.tls.flags()...)
	}
	return append(args, o.extra...)
}

func writeConfig(t testing.TB, servers map[string]serverEntry) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"mcpServers": servers}, "", "  ")
	if err != nil {
		t.Fatalf("encode config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "mcp-servers.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return path
}

// waitReady waits until n answers /ready with 200 or its process ends, and
// reports whether it is ready (false: it exited, e.g. its port was taken).
func waitReady(t testing.TB, n *node) bool {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: n.http().Transport}
	wait.For(t, readyTimeout, func() bool {
		if n.proc.exited() {
			return true
		}
		resp, err := c.Get(n.url + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "node %s to answer /ready with 200 (%s):\n%s", n.name, wait.Later(func() any { return n.proc.exitText() }), n.proc.out)
	return !n.proc.exited()
}

// makeToken runs `mcpmesh token` with args and returns what it printed.
func makeToken(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(buildBinaries(t).mcpmesh, append([]string{"token"}, args...)...)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mcpmesh token %v: %v\n%s", args, err, stderr.String())
	}
	tok := strings.TrimSpace(string(out))
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("mcpmesh token printed %q, want only a JWT", out)
	}
	return tok
}

// standardServers are the upstreams of most e2e nodes: the everything-server
// three times over stdio and once over Streamable HTTP, each with a prefix,
// so that the node lists more than one page of tools.
func standardServers(t testing.TB) map[string]serverEntry {
	t.Helper()
	ev := buildBinaries(t).everything
	return map[string]serverEntry{
		"ev":  {Command: ev, Prefix: "ev"},
		"ev2": {Command: ev, Prefix: "ev2"},
		"ev3": {Command: ev, Prefix: "ev3"},
		"evh": {URL: startEverythingHTTP(t), Prefix: "evh"},
	}
}

// httpReply is one HTTP answer, read in full.
type httpReply struct {
	status int
	header http.Header
	body   []byte
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// do sends one request to the node; header values override the defaults
// (bearer token, JSON content type); a "" value removes a header; "Host"
// sets the request's Host.
func (n *node) do(t testing.TB, method, path string, body []byte, header map[string]string) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if k == "Host" {
			req.Host = v // net/http sends req.Host, not a Host header
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := n.http().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return httpReply{status: resp.StatusCode, header: resp.Header, body: b}
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// rpcReply is a decoded JSON-RPC response.
type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

// rpc sends one sessionless JSON-RPC request (a plain POST, as curl would)
// and decodes the application/json answer.
func (n *node) rpc(t testing.TB, method string, params any) rpcReply {
	t.Helper()
	body := map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}
	if params != nil {
		body["params"] = params
	}
	b, _ := json.Marshal(body)
	return n.rpcRaw(t, b, nil)
}

func (n *node) rpcRaw(t testing.TB, body []byte, header map[string]string) rpcReply {
	t.Helper()
	r := n.do(t, http.MethodPost, "/mcp/http", body, header)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("POST %s: status %d, Content-Type %q, want application/json; body: %s", body, r.status, ct, r.body)
	}
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatalf("POST %s: answer is not a JSON-RPC response: %v; body: %s", body, err, r.body)
	}
	return rep
}

// result decodes a successful reply's result into v, failing on an error.
func (r rpcReply) decode(t testing.TB, v any) {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("JSON-RPC error %d: %s", r.Error.Code, r.Error.Message)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("decode result %s: %v", r.Result, err)
	}
}
