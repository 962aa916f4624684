package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Two nodes over HTTPS with a CA made by the test: the federated call and
// the keyring fan-out go node to node over TLS, plain HTTP is refused, a
// certificate replaced on disk is served after SIGHUP while connections
// already open keep working, and a node trusting another CA refuses to
// federate.

const tlsTimeout = 30 * time.Second

func TestTLSRing(t *testing.T) {
	ca := newTestCA(t, "mcpmesh test CA")
	bTLS := ca.node(t, 100)
	a := startNode(t, nodeOptions{name: "tls-a", tls: ca.node(t, 10), extra: []string{"--gossip", "127.0.0.1:0", "--max-unauthenticated-conns", "3"}})
	b := startNode(t, nodeOptions{name: "tls-b", demo: true, tls: bTLS, extra: []string{"--gossip", "127.0.0.1:0"}})
	if info := ringInfo(t, a); !strings.HasPrefix(info.URL, "https://") {
		t.Fatalf("a advertises %q, want an https:// URL", info.URL)
	}
	t.Run("plain HTTP refused", func(t *testing.T) { checkPlainRefused(t, b) })
	t.Run("federated call", func(t *testing.T) {
		ringAddPeer(t, a, b.url, "b", "full")
		waitWhoami(t, a, "b__whoami", "tls-b")
	})
	t.Run("keyring fan-out", func(t *testing.T) { checkTLSKeyring(t, a, ca) })
	t.Run("authenticated TLS connections leave the unauthenticated cap", func(t *testing.T) { checkTLSCap(t, a, ca, 3) })
	t.Run("certificate reloaded on SIGHUP", func(t *testing.T) {
		checkReload(t, b, bTLS, ca)
		waitWhoami(t, a, "b__whoami", "tls-b") // a's calls reach b's new certificate
	})
	t.Run("wrong CA refuses to federate", func(t *testing.T) {
		other := newTestCA(t, "another CA")
		c := startNode(t, nodeOptions{name: "tls-c", tls: other.node(t, 20), extra: []string{"--gossip", "127.0.0.1:0"}})
		r := c.do(t, http.MethodPost, "/api/federation/peers", mustJSON(api.AddPeerRequest{URL: b.url, Name: "b"}), nil)
		if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "certificate signed by unknown authority") ||
			!strings.Contains(string(r.body), "--tls-ca") {
			t.Fatalf("peer add of %s on a node trusting another CA: status %d, body %s; want 502 naming the certificate and --tls-ca", b.url, r.status, r.body)
		}
		if peers := ringPeers(t, c); len(peers) != 0 {
			t.Fatalf("the refused peer was written: %+v", peers)
		}
	})
}

// checkTLSCap holds more TLS connections than the cap of unauthenticated
// ones, each having carried a request with a token: a new connection is
// still served.
func checkTLSCap(t *testing.T, n *node, ca *testCA, limit int) {
	t.Helper()
	host := strings.TrimPrefix(n.url, "https://")
	for i := range limit + 2 {
		c := dialTLS(t, host, ca)
		defer c.Close()
		r := bufio.NewReader(c)
		if status := get(t, c, r, "/api/federation/info", n.token); status != http.StatusOK {
			t.Fatalf("authenticated request on connection %d: status %d, want 200", i+1, status)
		}
	}
	c := dialTLS(t, host, ca)
	defer c.Close()
	if status := get(t, c, bufio.NewReader(c), "/health", ""); status != http.StatusOK {
		t.Fatalf("a new connection after %d authenticated ones: status %d, want 200", limit+2, status)
	}
}

// get sends GET path (with a bearer token unless "") on c, kept alive, and
// returns the answer's status.
func get(t *testing.T, c *tls.Conn, r *bufio.Reader, path, token string) int {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n"+auth+"\r\n"); err != nil {
		t.Fatalf("write GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read the answer to GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// checkPlainRefused sends plain HTTP to an HTTPS node's port: 400.
func checkPlainRefused(t *testing.T, n *node) {
	t.Helper()
	resp, err := httpClient.Get("http://" + strings.TrimPrefix(n.url, "https://") + "/health")
	if err != nil {
		t.Fatalf("plain GET /health: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Fatalf("plain GET /health on an HTTPS node: status %d, body %q; want 400", resp.StatusCode, body)
	}
}

// waitWhoami waits until tool on n answers want.
func waitWhoami(t *testing.T, n *node, tool, want string) {
	t.Helper()
	var last string
	wait.For(t, tlsTimeout, func() bool {
		r := n.rpc(t, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}})
		var res callResult
		last = string(r.Result)
		return r.Error == nil && json.Unmarshal(r.Result, &res) == nil && !res.IsError && res.text() == want
	}, "%s on %s to answer %s (last %s)", tool, n.name, want, wait.Later(func() any { return last }))
}

// checkTLSKeyring lists the keyring through a with the CLI, trusting the
// test CA by --tls-ca or MCPMESH_TLS_CA: a reaches b over TLS with its
// admin node token. Without the CA the CLI refuses a's certificate.
func checkTLSKeyring(t *testing.T, a *node, ca *testCA) {
	t.Helper()
	for _, run := range []struct {
		name string
		env  []string
		args []string
	}{{"--tls-ca", nil, []string{"--tls-ca", ca.file}}, {"MCPMESH_TLS_CA", []string{"MCPMESH_TLS_CA=" + ca.file}, nil}} {
		r := runCLI(t, append(cliEnv(a), run.env...), append([]string{"keyring", "list", "-o", "json"}, run.args...)...)
		var res api.KeyringResult
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || len(res.Keys) != 1 || res.Keys[0].Nodes != 2 {
			t.Fatalf("keyring list with %s: exit %d, stdout %s, stderr %s; want one key on 2 nodes", run.name, r.code, r.stdout, r.stderr)
		}
	}
	if r := runCLI(t, cliEnv(a), "members"); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("members without the CA: exit %d, stderr %q; want 1 naming the certificate", r.code, r.stderr)
	}
}

// checkReload replaces n's certificate on disk (serial 101), sends SIGHUP
// and waits for new connections to get it, while a connection opened
// before keeps serving; then a bad pair is refused and 101 stays.
func checkReload(t *testing.T, n *node, files *nodeTLS, ca *testCA) {
	t.Helper()
	host := strings.TrimPrefix(n.url, "https://")
	old := dialTLS(t, host, ca)
	defer old.Close()
	oldR := bufio.NewReader(old)
	checkHealth(t, old, oldR, 100)
	ca.issue(t, files.cert, files.key, 101)
	hup(t, n)
	wait.For(t, tlsTimeout, func() bool { return serialOf(t, host, ca) == 101 }, "a new connection to see serial 101")
	checkHealth(t, old, oldR, 100) // the connection opened before the reload serves on
	if err := os.WriteFile(files.cert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(t, n)
	wait.For(t, tlsTimeout, func() bool { return strings.Contains(n.proc.out.String(), "TLS certificate not reloaded") },
		"the node to log the refused pair:\n%s", n.proc.out)
	if s := serialOf(t, host, ca); s != 101 || n.proc.exited() {
		t.Fatalf("after a bad pair: serial %d, exited %v; want 101, running", s, n.proc.exited())
	}
}

func hup(t *testing.T, n *node) {
	t.Helper()
	if err := n.proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %s: %v", n.name, err)
	}
}

func dialTLS(t *testing.T, host string, ca *testCA) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", host, &tls.Config{RootCAs: ca.pool})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", host, err)
	}
	return c
}

// serialOf is the serial of the certificate a new connection to host gets.
func serialOf(t *testing.T, host string, ca *testCA) int64 {
	t.Helper()
	c := dialTLS(t, host, ca)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// checkHealth sends GET /health on c (kept alive) and checks the answer
// and the certificate c was made with.
func checkHealth(t *testing.T, c *tls.Conn, r *bufio.Reader, serial int64) {
	t.Helper()
	status := get(t, c, r, "/health", "")
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); status != http.StatusOK || got != serial {
		t.Fatalf("GET /health on the open connection: status %d, serial %d; want 200, %d", status, got, serial)
	}
}
