package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
)

// An upstream entry's "protocol_version": "2026-07-28" makes the node
// speak 2026-07-28 to that server (the go-sdk client's server/discover),
// so the server answers a 2026-07-28 caller's call with its own
// input_required, keys and all; the entry is persisted with the field and
// /api/servers shows the version. The default stays 2025-11-25, on which the
// go-sdk server's input requests arrive as session requests without a key.

// inputRequired is the part of a 2026-07-28 result the tests read.
type inputRequired struct {
	callResult
	ResultType    string                     `json:"resultType"`
	InputRequests map[string]json.RawMessage `json:"inputRequests"`
	RequestState  string                     `json:"requestState"`
}

// askCall2026 sends tools/call of tool to n as a 2026-07-28 request whose
// client declares elicitation, with the extra params, and decodes the JSON
// answer.
func askCall2026(t *testing.T, n *node, tool string, extra map[string]any) inputRequired {
	t.Helper()
	params := map[string]any{"name": tool, "arguments": map[string]any{}, "_meta": map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{}},
	}}
	maps.Copy(params, extra)
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
	r := n.do(t, http.MethodPost, "/mcp", body, map[string]string{"Mcp-Protocol-Version": "2026-07-28",
		"Mcp-Method": "tools/call", "Mcp-Name": tool, "Accept": "application/json, text/event-stream"})
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatalf("tools/call %s: status %d, body %s: %v", tool, r.status, r.body, err)
	}
	var res inputRequired
	rep.decode(t, &res)
	return res
}

// registerServer posts entry to /api/servers and returns the 201's entry.
func registerServer(t *testing.T, n *node, entry map[string]any) api.Server {
	t.Helper()
	r := n.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil)
	var s api.Server
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &s) != nil {
		t.Fatalf("POST /api/servers %v: status %d, body %s; want 201", entry, r.status, r.body)
	}
	return s
}

func serverVersions(t *testing.T, n *node) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range listServers(t, n) {
		out[s.Name] = s.ProtocolVersion
	}
	return out
}

func TestUpstreamProtocolVersionEntry(t *testing.T) {
	ev, dataDir := buildBinaries(t).everything, t.TempDir()
	n := startNode(t, nodeOptions{name: "upver", dataDir: dataDir})
	s := registerServer(t, n, map[string]any{"name": "ev26", "command": ev, "prefix": "ev26", "protocol_version": "2026-07-28"})
	if s.State != "ready" || s.ProtocolVersion != "2026-07-28" {
		t.Fatalf("registered with protocol_version 2026-07-28: %+v; want ready, protocol_version 2026-07-28", s)
	}
	registerServer(t, n, map[string]any{"name": "ev25", "command": ev, "prefix": "ev25"})
	want := map[string]string{"ev26": "2026-07-28", "ev25": "2025-11-25"}
	t.Run("bad value refused", func(t *testing.T) { testBadProtocolVersion(t, n, ev, want) })
	t.Run("keyed input_required passes", func(t *testing.T) { testKeyedInputRequired(t, n) })
	t.Run("default names the request itself", func(t *testing.T) {
		res := askCall2026(t, n, "ev25__test_input_required_result_elicitation", nil)
		if res.ResultType != "input_required" || len(res.InputRequests) != 1 || res.InputRequests["user_name"] != nil {
			t.Errorf("through a 2025-11-25 session: %+v; want input_required with one request under the node's own key", res)
		}
	})
	n.proc.stopClean(t)
	n = startNode(t, nodeOptions{name: "upver", dataDir: dataDir})
	if got := serverVersions(t, n); !maps.Equal(got, want) {
		t.Errorf("after a restart /api/servers shows protocol versions %v, want %v (persisted)", got, want)
	}
}

// testBadProtocolVersion: a value other than the two is a 400 naming the
// field and the allowed values, and nothing is registered.
func testBadProtocolVersion(t *testing.T, n *node, ev string, want map[string]string) {
	for _, v := range []string{"2025-06-18", "2026", "latest"} {
		body := mustJSON(map[string]any{"name": "bad", "command": ev, "prefix": "bad", "protocol_version": v})
		r := n.do(t, http.MethodPost, "/api/servers", body, nil)
		var e api.Error
		_ = json.Unmarshal(r.body, &e)
		if r.status != http.StatusBadRequest || !strings.Contains(e.Error, `protocol_version "`+v+`"`) ||
			!strings.Contains(e.Error, `"2025-11-25" (the default) or "2026-07-28"`) {
			t.Errorf("protocol_version %q: status %d, body %s; want 400 naming the field and the allowed values", v, r.status, r.body)
		}
	}
	if got := serverVersions(t, n); !maps.Equal(got, want) {
		t.Errorf("after bad registrations /api/servers shows %v, want %v", got, want)
	}
}

// testKeyedInputRequired: the everything-server's own input request, under
// its key "user_name", reaches the 2026-07-28 caller as the server wrote
// it, and the retry with the answer under that key completes the call.
func testKeyedInputRequired(t *testing.T, n *node) {
	const tool = "ev26__test_input_required_result_elicitation"
	res := askCall2026(t, n, tool, nil)
	var req struct {
		Method string `json:"method"`
		Params struct {
			Message         string `json:"message"`
			RequestedSchema struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"requestedSchema"`
		} `json:"params"`
	}
	if res.ResultType != "input_required" || len(res.InputRequests) != 1 || json.Unmarshal(res.InputRequests["user_name"], &req) != nil {
		t.Fatalf("first call: %+v; want input_required with the server's key user_name", res)
	}
	if req.Method != "elicitation/create" || req.Params.Message != "What is your name?" ||
		req.Params.RequestedSchema.Properties["name"] == nil || !slices.Equal(req.Params.RequestedSchema.Required, []string{"name"}) {
		t.Errorf("input request user_name = %s; want the server's elicitation/create of a name", res.InputRequests["user_name"])
	}
	answer := map[string]any{"user_name": map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}}
	done := askCall2026(t, n, tool, map[string]any{"inputResponses": answer, "requestState": res.RequestState})
	if done.ResultType != "complete" || done.IsError || done.text() != "Hello, Ada!" {
		t.Errorf("retry with the answer: %+v; want complete with Hello, Ada!", done)
	}
}
