package gateway

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// hostRefusal is the 403 body of a Host the node does not allow: the same
// with or without --allowed-hosts.
func hostRefusal(host string) string {
	return `{"error":"host ` + host + ` is not allowed (DNS rebinding protection): use the node's own address, or add it with --allowed-hosts"}` + "\n"
}

// postHost POSTs a tools/list to path on url with the Host and Origin
// headers given ("" leaves one out).
func postHost(t *testing.T, url, path, token, host, origin string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return send(t, req)
}

// TestAllowedHosts: --allowed-hosts adds a balancer's names to the Host
// check of every MCP route (/mcp, /mcp/http, /mcp/peers/{peer}): a bare
// name on any port, name:port on that port only, ignoring case, IPv6 in
// brackets; other names get the same 403 as before; Origin rules are
// unchanged.
func TestAllowedHosts(t *testing.T) {
	a := startFedNodeWith(t, "node-a", func(c *Config) {
		c.AllowedHosts = []string{"mcp.example.com", "lb.internal:8080", "[2001:db8::1]"}
	})
	b := startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	cases := []struct {
		name, host, origin string
		code               int
		body               string // the whole body of a refusal
	}{
		{"allowed name", "mcp.example.com", "", http.StatusOK, ""},
		{"allowed name on a port", "mcp.example.com:443", "", http.StatusOK, ""},
		{"allowed name in other case", "MCP.Example.COM:8443", "", http.StatusOK, ""},
		{"name:port entry on its port", "lb.internal:8080", "", http.StatusOK, ""},
		{"IPv6 entry on a port", "[2001:db8::1]:443", "", http.StatusOK, ""},
		{"IPv6 entry bare", "[2001:DB8::1]", "", http.StatusOK, ""},
		{"advertised host", a.addr, "", http.StatusOK, ""},
		{"name:port entry on another port", "lb.internal:9090", "", http.StatusForbidden, hostRefusal("lb.internal:9090")},
		{"name:port entry without a port", "lb.internal", "", http.StatusForbidden, hostRefusal("lb.internal")},
		{"other name", "evil.example", "", http.StatusForbidden, hostRefusal("evil.example")},
		{"subdomain of an allowed name", "x.mcp.example.com", "", http.StatusForbidden, hostRefusal("x.mcp.example.com")},
		{"same origin on an allowed name", "mcp.example.com", "http://mcp.example.com", http.StatusOK, ""},
		{"foreign origin on an allowed name", "mcp.example.com", "http://evil.example", http.StatusForbidden,
			`{"error":"origin http://evil.example is not allowed: add it with --allowed-origins"}` + "\n"},
	}
	for _, path := range []string{"/mcp", "/mcp/http", "/mcp/peers/b"} {
		for _, tc := range cases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				r := postHost(t, a.url, path, a.admin, tc.host, tc.origin)
				if r.code != tc.code || tc.body != "" && string(r.body) != tc.body {
					t.Fatalf("status %d body %s, want %d %s", r.code, r.body, tc.code, tc.body)
				}
				if tc.code == http.StatusOK && !strings.Contains(string(r.body), `"whoami"`) {
					t.Fatalf("tools/list answered %s, want the tools", r.body)
				}
			})
		}
	}
}

// TestAllowedHostsKeepAdvertised: with --allowed-hosts the advertised
// URL's host:port stays allowed, on its port only, and loopback too.
func TestAllowedHostsKeepAdvertised(t *testing.T) {
	n := startNode(t, nodeOptions{url: "http://node-a.internal:8000", hosts: []string{"mcp.example.com"}})
	for _, tc := range []struct {
		host string
		code int
	}{
		{"node-a.internal:8000", http.StatusOK},
		{"mcp.example.com", http.StatusOK},
		{"127.0.0.1:9", http.StatusOK},
		{"node-a.internal:9000", http.StatusForbidden},
		{"other.example.com", http.StatusForbidden},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if r := postHost(t, n.srv.URL, "/mcp", n.admin, tc.host, ""); r.code != tc.code {
				t.Fatalf("status %d body %s, want %d", r.code, r.body, tc.code)
			}
		})
	}
}

// TestAllowedHostsRefused: a gateway is not made with a bad entry, and the
// error names it.
func TestAllowedHostsRefused(t *testing.T) {
	for _, bad := range []string{"", "https://mcp.example.com", "mcp.example.com/mcp", "mcp example.com", "2001:db8::1", "x:0"} {
		t.Run(bad, func(t *testing.T) {
			_, err := New(Config{Name: "node-a", URL: "http://127.0.0.1:1", Secret: []byte(testSecret), Store: openBadger(t, t.TempDir()),
				Catalog: mcp.NewCatalog("node-a", slog.New(slog.DiscardHandler)), AllowedHosts: []string{bad}})
			if err == nil || !strings.Contains(err.Error(), "allowed host") || bad != "" && !strings.Contains(err.Error(), bad) {
				t.Fatalf("New with allowed host %q: %v, want an error naming it", bad, err)
			}
		})
	}
}
