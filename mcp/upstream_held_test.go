package mcp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// heldNode serves a node whose only upstream is the everything-server over
// stdio (a legacy 2025-11-25 session), with its tools under their own
// names. The X-Test-Sub header names the caller's principal.
func heldNode(t *testing.T, holds *mcp.Holds) string {
	t.Helper()
	return heldNodeFor(t, upEverythingConfig(t), mcp.UpstreamOptions{Holds: holds})
}

func heldNodeFor(t *testing.T, cfg mcp.ServerConfig, opts mcp.UpstreamOptions) string {
	t.Helper()
	cat := mcp.NewCatalog("n1", nil)
	opts.OnChange = cat.Changed
	u := upStart(t, cfg, opts)
	if err := cat.Add("up", "", u); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(cat, mcp.ServerOptions{NodeName: "n1"})
	h := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := mcp.Principal{Subject: r.Header.Get("X-Test-Sub")}
		// Served as a request another node forwarded for the caller: the
		// Server passes the inner requestState through unsealed, so these
		// tests read the upstream's and the holds' own (the sealing at the
		// edge is tested in mrtr_test.go and requeststate_test.go).
		h.ServeHTTP(w, r.WithContext(mcp.WithRelayed(mcp.WithPrincipal(r.Context(), p))))
	}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs.URL
}

// allCaps declares every capability a server request needs.
var allCaps = map[string]any{"sampling": map[string]any{}, "elicitation": map[string]any{"form": map[string]any{}},
	"roots": map[string]any{}}

// heldResult is a 2026 tools/call answer as these tests read it.
type heldResult struct {
	ResultType    string `json:"resultType"`
	InputRequests map[string]struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	} `json:"inputRequests"`
	RequestState string `json:"requestState"`
	Content      []struct{ Text string }
	IsError      bool `json:"isError"`
}

// callHeld sends one 2026-07-28 call as principal sub with caps and
// returns its result, or its error.
func callHeld(t *testing.T, url, sub, method string, params map[string]any, caps map[string]any) (heldResult, *mcp.Error) {
	t.Helper()
	msgs := sendHeld(t, url, sub, method, params, caps, nil)
	return heldLast(t, msgs)
}

// sendHeld sends one 2026-07-28 call (its _meta: caps and extra) and
// returns every message of its answer.
func sendHeld(t *testing.T, url, sub, method string, params, caps, extra map[string]any) []mcp.Message {
	t.Helper()
	meta := meta2026()
	meta[mcp.MetaClientCapabilities] = caps
	for k, v := range extra {
		meta[k] = v
	}
	p := map[string]any{"_meta": meta}
	for k, v := range params {
		p[k] = v
	}
	resp := req2026{method: method, params: p, hdr: map[string]string{"X-Test-Sub": sub}}.send(t, url)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return sseMessages(t, resp.Body)
	}
	return []mcp.Message{answer(t, resp)}
}

// heldLast is the answer, the last message.
func heldLast(t *testing.T, msgs []mcp.Message) (heldResult, *mcp.Error) {
	t.Helper()
	m := msgs[len(msgs)-1]
	if m.Error != nil {
		return heldResult{}, m.Error
	}
	var r heldResult
	if err := json.Unmarshal(m.Result, &r); err != nil {
		t.Fatalf("result %s: %v", m.Result, err)
	}
	return r, nil
}

// heldAnswers answers each input request as a client would.
func heldAnswers(t *testing.T, r heldResult) map[string]any {
	t.Helper()
	out := map[string]any{}
	for key, ir := range r.InputRequests {
		switch ir.Method {
		case "elicitation/create":
			out[key] = map[string]any{"action": "accept", "content": map[string]any{"name": "Alice", "color": "blue", "ok": true}}
		case "sampling/createMessage":
			out[key] = map[string]any{"role": "assistant", "content": map[string]any{"type": "text", "text": "Paris"}, "model": "m"}
		case "roots/list":
			out[key] = map[string]any{"roots": []map[string]any{{"uri": "file:///work", "name": "work"}}}
		default:
			t.Fatalf("input request %q has method %q", key, ir.Method)
		}
	}
	return out
}

// TestHeldServerRequestsBecomeInputRequired: the legacy upstream's server
// requests reach a 2026-07-28 caller as input_required; the retry with the
// answers resumes the held call, round after round, to the tool's result.
func TestHeldServerRequestsBecomeInputRequired(t *testing.T) {
	url := heldNode(t, nil)
	tests := []struct {
		tool   string
		rounds int
		keys   int // input requests in the first round
		want   string
	}{
		{"test_input_required_result_elicitation", 1, 1, "Hello, Alice!"},
		{"test_input_required_result_sampling", 1, 1, "Sampling response: Paris"},
		{"test_input_required_result_list_roots", 1, 1, "file:///work"},
		{"test_input_required_result_multiple_inputs", 1, 3, "Paris Alice — 1 root(s) visible"},
		{"test_input_required_result_multi_round", 2, 1, "Multi-round complete: Alice likes blue"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			params := map[string]any{"name": tt.tool, "arguments": map[string]any{}}
			r, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
			for round := 0; round < tt.rounds; round++ {
				if e != nil || r.ResultType != "input_required" || r.RequestState == "" {
					t.Fatalf("round %d: %+v, %v; want input_required with a requestState", round, r, e)
				}
				if round == 0 && len(r.InputRequests) != tt.keys {
					t.Fatalf("first round asks %d inputs (%v), want %d in one round", len(r.InputRequests), r.InputRequests, tt.keys)
				}
				params["inputResponses"], params["requestState"] = heldAnswers(t, r), r.RequestState
				r, e = callHeld(t, url, "alice", "tools/call", params, allCaps)
			}
			if e != nil || r.ResultType != "complete" || r.IsError || len(r.Content) == 0 || !strings.Contains(r.Content[0].Text, tt.want) {
				t.Fatalf("final answer %+v, %v; want complete with %q", r, e, tt.want)
			}
		})
	}
}

// TestHeldCallBelongsToItsCaller: a retry by another principal, a retry
// naming an unknown or already resumed hold, are refused with -32602.
func TestHeldCallBelongsToItsCaller(t *testing.T) {
	url := heldNode(t, nil)
	params := map[string]any{"name": "test_input_required_result_elicitation", "arguments": map[string]any{}}
	r, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if e != nil || !strings.HasPrefix(r.RequestState, mcp.HeldStatePrefix) {
		t.Fatalf("first try %+v, %v; want a held call", r, e)
	}
	retry := map[string]any{"name": params["name"], "arguments": map[string]any{},
		"inputResponses": heldAnswers(t, r), "requestState": r.RequestState}
	for _, c := range []struct{ who, state string }{{"mallory", r.RequestState}, {"alice", r.RequestState + "-TAMPERED"}} {
		retry["requestState"] = c.state
		if _, e := callHeld(t, url, c.who, "tools/call", retry, allCaps); e == nil || e.Code != mcp.CodeInvalidParams {
			t.Errorf("retry by %s with %q: error %v, want -32602", c.who, c.state, e)
		}
	}
	retry["requestState"] = r.RequestState
	if got, e := callHeld(t, url, "alice", "tools/call", retry, allCaps); e != nil || got.ResultType != "complete" {
		t.Fatalf("the owner's retry: %+v, %v; want complete", got, e)
	}
	if _, e := callHeld(t, url, "alice", "tools/call", retry, allCaps); e == nil || e.Code != mcp.CodeInvalidParams {
		t.Errorf("a second retry of the same state: %v, want -32602", e)
	}
}

// TestHeldCallsBounded: a hold not resumed within the input timeout is
// dropped (the retry is refused); past the node's bound nothing is held.
func TestHeldCallsBounded(t *testing.T) {
	holds := mcp.NewHolds(1, 300*time.Millisecond)
	url := heldNode(t, holds)
	params := map[string]any{"name": "test_input_required_result_elicitation", "arguments": map[string]any{}}
	first, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if e != nil || first.ResultType != "input_required" || holds.Len() != 1 {
		t.Fatalf("first try %+v, %v, held %d; want one held call", first, e, holds.Len())
	}
	over, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if e != nil || !over.IsError || len(over.Content) == 0 || !strings.Contains(over.Content[0].Text, "--max-held-requests") {
		t.Errorf("over the bound: %+v, %v; want an isError result naming --max-held-requests", over, e)
	}
	wait.For(t, 10*time.Second, func() bool { return holds.Len() == 0 }, "the hold to expire")
	retry := map[string]any{"name": params["name"], "arguments": map[string]any{},
		"inputResponses": heldAnswers(t, first), "requestState": first.RequestState}
	if _, e := callHeld(t, url, "alice", "tools/call", retry, allCaps); e == nil || e.Code != mcp.CodeInvalidParams {
		t.Errorf("retry after expiry: %v, want -32602", e)
	}
}

// TestHeldNeedsTheCapability: an upstream's request the caller did not
// declare the capability for is refused to the upstream, never held.
func TestHeldNeedsTheCapability(t *testing.T) {
	url := heldNode(t, nil)
	params := map[string]any{"name": "test_input_required_result_sampling", "arguments": map[string]any{}}
	r, e := callHeld(t, url, "alice", "tools/call", params, map[string]any{"elicitation": map[string]any{}})
	if e == nil && r.ResultType == "input_required" {
		t.Fatalf("a caller without sampling got input_required %+v", r)
	}
	// The upstream reads the caller's capabilities per request: -32021.
	_, e = callHeld(t, url, "alice", "tools/call", map[string]any{"name": "test_missing_capability", "arguments": map[string]any{}},
		map[string]any{})
	if e == nil || e.Code != mcp.CodeMissingRequiredCapability {
		t.Errorf("test_missing_capability without sampling: %v, want %d", e, mcp.CodeMissingRequiredCapability)
	}
}

// TestHeldMissingResponseAskedAgain: a retry that leaves out one of the
// round's keys answers the others and gets input_required again for the
// one left out (as the spec asks of a server), under a new requestState.
func TestHeldMissingResponseAskedAgain(t *testing.T) {
	url := heldNode(t, nil)
	params := map[string]any{"name": "test_input_required_result_multiple_inputs", "arguments": map[string]any{}}
	r, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if e != nil || len(r.InputRequests) != 3 {
		t.Fatalf("first try %+v, %v; want three input requests", r, e)
	}
	answers := heldAnswers(t, r)
	var left string
	for key, ir := range r.InputRequests {
		if ir.Method == "roots/list" {
			left = key
			delete(answers, key)
		}
	}
	params["inputResponses"], params["requestState"] = answers, r.RequestState
	again, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if _, ok := again.InputRequests[left]; e != nil || again.ResultType != "input_required" || len(again.InputRequests) != 1 || !ok ||
		again.RequestState == r.RequestState {
		t.Fatalf("retry without %q: %+v, %v; want input_required for it alone under a new state", left, again, e)
	}
	params["inputResponses"], params["requestState"] = heldAnswers(t, again), again.RequestState
	done, e := callHeld(t, url, "alice", "tools/call", params, allCaps)
	if e != nil || done.ResultType != "complete" || len(done.Content) == 0 || !strings.Contains(done.Content[0].Text, "1 root(s)") {
		t.Fatalf("final answer %+v, %v; want complete", done, e)
	}
}
