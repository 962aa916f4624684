package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The checks of TestRingFive that call, change and remove peers.

// checkFiveCalls: on n3, a full peer's tool runs on that peer; a discover
// or none peer's is refused naming the peer and its trust level.
func checkFiveCalls(t *testing.T, n3 *node) {
	cases := []struct {
		tool, want, errKind string
	}{
		{"peer-2__whoami", "n2", ""},
		{"peer-2__add", "5", ""},
		{"whoami", "n3", ""},
		{"peer-4__whoami", "discover", "peer_not_trusted"},
		{"peer-5__whoami", "none", "peer_not_trusted"},
	}
	for _, tc := range cases {
		t.Run(tc.tool, func(t *testing.T) {
			res := ringCall(t, n3, tc.tool, map[string]any{"a": 2, "b": 3})
			if res.IsError != (tc.errKind != "") || !strings.Contains(res.text(), tc.want) {
				t.Fatalf("isError %v, text %q; want isError %v and text containing %q", res.IsError, res.text(), tc.errKind != "", tc.want)
			}
			if tc.errKind == "" {
				return
			}
			peer, _, _ := strings.Cut(tc.tool, "__")
			if res.Meta["mcpmesh/error"] != tc.errKind || !strings.Contains(res.text(), peer) {
				t.Errorf("_meta %v, text %q; want mcpmesh/error %q and the text naming %s", res.Meta, res.text(), tc.errKind, peer)
			}
		})
	}
}

// checkOneHop: a name that looks federated twice is not forwarded a second
// time, and a request marked forwarded is served from local tools only.
func checkOneHop(t *testing.T, n3 *node) {
	for _, name := range []string{"peer-2__peer-4__whoami", "peer-2__peer-3__whoami", "peer-2__n4__whoami"} {
		t.Run(name, func(t *testing.T) {
			rep := n3.rpc(t, "tools/call", map[string]any{"name": name, "arguments": map[string]any{}})
			if rep.Error == nil {
				t.Fatalf("answered %s; want the JSON-RPC error -32602 of an unknown tool", rep.Result)
			}
			if rep.Error.Code != -32602 || !strings.Contains(rep.Error.Message, "whoami") {
				t.Errorf("error %d %q; want -32602 naming the tool", rep.Error.Code, rep.Error.Message)
			}
		})
	}
	t.Run("forwarded list is local", func(t *testing.T) {
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		var page toolsPage
		n3.rpcRaw(t, body, map[string]string{"X-Mcpmesh-Forwarded": "n1"}).decode(t, &page)
		for _, tool := range page.Tools {
			if strings.Contains(tool.Name, "__") || tool.Source != "n3" {
				t.Errorf("a forwarded tools/list listed %q (source %q); want local tools only", tool.Name, tool.Source)
			}
		}
	})
}

// checkPatchTrust: raising peer-5 from none to full on n5 itself makes
// its tools listed and callable on n3.
func checkPatchTrust(t *testing.T, nodes []*node) {
	n3, n5 := nodes[2], nodes[4]
	r := n5.do(t, http.MethodPatch, "/api/federation/peers/peer-5", []byte(`{"trust_level":"full"}`), nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"trust_level":"full"`) {
		t.Fatalf("PATCH peer-5 on n5: status %d, body %s; want 200 with trust full", r.status, r.body)
	}
	wait.For(t, ringTimeout, func() bool {
		return ringList(t, n3).has("peer-5__whoami")
	}, "waiting for n3 to list peer-5's tools")
	if res := ringCall(t, n3, "peer-5__whoami", nil); res.IsError || res.text() != "n5" {
		t.Errorf("peer-5__whoami on n3: isError %v, text %q; want n5", res.IsError, res.text())
	}
	waitRegistryConverged(t, nodes, 4)
}

// checkDelete: removing peer-4 on n2 removes it on every node and from
// n3's listing.
func checkDelete(t *testing.T, nodes []*node) {
	if r := nodes[1].do(t, http.MethodDelete, "/api/federation/peers/peer-4", nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE peer-4 on n2: status %d, body %s; want 204", r.status, r.body)
	}
	waitRegistryConverged(t, nodes, 3)
	for _, n := range nodes {
		if r := n.do(t, http.MethodGet, "/api/federation/peers/peer-4", nil, nil); r.status != http.StatusNotFound {
			t.Errorf("GET peer-4 on %s after the delete: status %d, body %s; want 404", n.name, r.status, r.body)
		}
	}
	wait.For(t, ringTimeout, func() bool {
		for _, name := range ringList(t, nodes[2]).names() {
			if strings.HasPrefix(name, "peer-4__") {
				return false
			}
		}
		return true
	}, "waiting for n3 to stop listing peer-4's tools")
}
