package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
)

// Bad input on /api/federation/*: every bad request gets a clear 4xx (or
// 502 for a node that cannot be reached) naming what was wrong, and
// changes nothing.

// registryState is what a bad request must leave unchanged.
func registryState(t *testing.T, n *fedNode) string {
	t.Helper()
	r := n.do(t, http.MethodGet, "/api/federation/peers", n.admin, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET peers: %d %s", r.code, r.body)
	}
	var b strings.Builder
	for _, p := range decode[[]api.Peer](t, r.body) {
		fmt.Fprintf(&b, "%s %s %s %s %s; ", p.Name, p.URL, p.Member, p.TrustLevel, p.UpdatedAt)
	}
	return b.String() + n.node.Registry().Digest()
}

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

type badCase struct {
	name, method, path, body string
	status                   int
	mention                  []string // the error text must contain each
	avoid                    string   // and must not contain this
}

func runBadCases(t *testing.T, n *fedNode, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := registryState(t, n)
			r := n.do(t, tc.method, tc.path, n.admin, tc.body)
			if r.code != tc.status {
				t.Fatalf("status %d, body %s; want %d", r.code, r.body, tc.status)
			}
			msg := r.errorText(t)
			for _, m := range tc.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not name %q", msg, m)
				}
			}
			if tc.avoid != "" && strings.Contains(msg, tc.avoid) {
				t.Errorf("error %q mentions %q, which has nothing to do with peers", msg, tc.avoid)
			}
			if after := registryState(t, n); after != before {
				t.Errorf("the registry changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestPeersBadInput(t *testing.T) {
	a, b, c := startFedNode(t, "gw-a"), startFedNode(t, "gw-b"), startFedNode(t, "gw-c")
	closed := closedURL(t)
	post := func(name, body string, status int, mention ...string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "/api/federation/peers", body: body, status: status, mention: mention}
	}
	unknownField := post("unknown field", `{"url":"`+b.url+`","colour":"red"}`, 400, "colour")
	unknownField.avoid = "command"
	runBadCases(t, a, []badCase{
		post("bad JSON", `{"url":`, 400, "JSON"),
		post("not an object", `["`+b.url+`"]`, 400, "object"),
		post("empty body", ``, 400, "empty"),
		post("trailing data", `{"url":"`+b.url+`"} {}`, 400, "after"),
		unknownField,
		post("url missing", `{"name":"x"}`, 400, "url"),
		post("url not a string", `{"url":5}`, 400, "url"),
		post("url not http", `{"url":"ftp://127.0.0.1:1"}`, 400, "url", "ftp://127.0.0.1:1"),
		post("url not absolute", `{"url":"127.0.0.1:8001"}`, 400, "url"),
		post("url with a query", `{"url":"`+b.url+`?x=1"}`, 400, "url"),
		post("trust unknown", `{"url":"`+b.url+`","trust_level":"total"}`, 400, "trust_level", "total"),
		post("trust wrong case", `{"url":"`+b.url+`","trust_level":"FULL"}`, 400, "trust_level"),
		post("name upper case", `{"url":"`+b.url+`","name":"Gateway-B"}`, 400, "name", "Gateway-B"),
		post("name with __", `{"url":"`+b.url+`","name":"a__b"}`, 400, "name", "a__b"),
		post("name too long", `{"url":"`+b.url+`","name":"`+strings.Repeat("n", 33)+`"}`, 400, "name"),
		post("unreachable url", `{"url":"`+closed+`"}`, 502, closed),
		post("the node itself", `{"url":"`+a.url+`"}`, 400, a.url, "itself"),
	})
	if r := a.do(t, http.MethodGet, "/api/federation/peers", a.admin, ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("after bad requests, GET peers = %s; want []", r.body)
	}
	addFedPeer(t, a, b, "gw-b", "full")
	runBadCases(t, a, []badCase{
		post("duplicate name", `{"url":"`+c.url+`","name":"gw-b"}`, 409, "gw-b"),
		post("same member, other name", `{"url":"`+b.url+`","name":"other"}`, 409, "gw-b"),
		{name: "get unknown", method: http.MethodGet, path: "/api/federation/peers/nope", status: 404, mention: []string{"nope"}},
		{name: "patch unknown", method: http.MethodPatch, path: "/api/federation/peers/nope", body: `{"trust_level":"none"}`, status: 404, mention: []string{"nope"}},
		{name: "delete unknown", method: http.MethodDelete, path: "/api/federation/peers/nope", status: 404, mention: []string{"nope"}},
		{name: "patch bad trust", method: http.MethodPatch, path: "/api/federation/peers/gw-b", body: `{"trust_level":"most"}`, status: 400, mention: []string{"trust_level", "most"}},
		{name: "patch no trust", method: http.MethodPatch, path: "/api/federation/peers/gw-b", body: `{}`, status: 400, mention: []string{"trust_level"}},
		{name: "patch bad JSON", method: http.MethodPatch, path: "/api/federation/peers/gw-b", body: `{"trust_level":`, status: 400, mention: []string{"JSON"}},
		{name: "patch other field", method: http.MethodPatch, path: "/api/federation/peers/gw-b", body: `{"url":"http://127.0.0.1:1"}`, status: 400, mention: []string{"url"}},
	})
}

func TestPeersAuth(t *testing.T) {
	a := startFedNode(t, "gw-a")
	mcpToken := mint(t, testSecret, ScopeMCP)
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/api/federation/members", ""},
		{http.MethodGet, "/api/federation/peers", ""},
		{http.MethodPost, "/api/federation/peers", `{"url":"http://127.0.0.1:1"}`},
		{http.MethodGet, "/api/federation/peers/x", ""},
		{http.MethodPatch, "/api/federation/peers/x", `{"trust_level":"full"}`},
		{http.MethodDelete, "/api/federation/peers/x", ""},
		{http.MethodGet, "/api/federation/keyring", ""},
		{http.MethodPost, "/api/federation/keyring", `{"key":"x"}`},
		{http.MethodPost, "/api/federation/keyring/node", `{"op":"list"}`},
	}
	t.Run("info takes an mcp token", func(t *testing.T) { // what nodes ask first, with their mcp-scoped token
		if r := a.do(t, http.MethodGet, "/api/federation/info", "", ""); r.code != http.StatusUnauthorized {
			t.Errorf("info without a token: %d", r.code)
		}
		if r := a.do(t, http.MethodGet, "/api/federation/info", mcpToken, ""); r.code != http.StatusOK {
			t.Errorf("info with an mcp token: %d %s", r.code, r.body)
		}
	})
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := a.do(t, rt.method, rt.path, "", rt.body)
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no token: status %d, WWW-Authenticate %q; want 401 Bearer", r.code, r.header.Get("WWW-Authenticate"))
			}
			r = a.do(t, rt.method, rt.path, mcpToken, rt.body)
			if r.code != http.StatusForbidden || !strings.Contains(r.errorText(t), "admin") {
				t.Errorf("mcp-scope token: status %d, body %s; want 403 naming the admin scope", r.code, r.body)
			}
		})
	}
}
