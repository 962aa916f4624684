package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchTool is a demo tool and the arguments a benchmark calls it with.
type benchTool struct {
	name string
	args map[string]any
}

var benchForwardTools = []benchTool{
	{"echo", map[string]any{"text": "bench"}},
	{"sleep", map[string]any{"ms": 2}},
}

// benchTarget is where one side of a comparison sends its calls.
type benchTarget struct {
	side  string // "direct" or "forwarded"
	n     *node
	tool  string
	procs []benchProc // the nodes, whose CPU time per call is reported
}

// BenchmarkForward compares a tools/call forwarded A→B (`b__<tool>` on A)
// with the same call made directly on B, for the demo echo and sleep 2 ms,
// by go-sdk clients (one per caller, reused): "gosdk" on a 2025-11-25
// session, "stateless" negotiating 2026-07-28 (no session: each call one
// POST with its _meta), and by bare sessionless POSTs (keep-alive), at 1 and
// 8 concurrent callers. The forwarded side also
// reports its ratios to the direct side just measured (p50_ratio,
// p99_ratio, tput_ratio). On Linux both sides report the CPU time the two
// nodes used per call (nodes_cpu_us/call) and the forwarded side its ratio
// (cpu_ratio): on a shared machine it moves less than the rates.
func BenchmarkForward(b *testing.B) {
	a, peer := benchForwardRing(b)
	procs := []benchProc{{"a", a.proc}, {"b", peer.proc}}
	for _, tool := range benchForwardTools {
		b.Run(tool.name, func(b *testing.B) {
			for _, kind := range []string{"gosdk", "stateless", "bare"} {
				b.Run(kind, func(b *testing.B) {
					for _, c := range []int{1, 8} {
						b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
							benchPair(b, tool, kind, c, benchTarget{"direct", peer, tool.name, procs}, benchTarget{"forwarded", a, "b__" + tool.name, procs})
						})
					}
				})
			}
		})
	}
}

// benchForwardRing starts B (demo tools) and A (none), federates B on A as
// "b" and checks that b__whoami on A is answered by B.
func benchForwardRing(b *testing.B) (a, peer *node) {
	peer = benchNode(b, "bench-b", true)
	a = benchNode(b, "bench-a", false)
	benchFederate(b, a, peer, "b", func() bool {
		r := a.rpc(b, "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}})
		var res callResult
		return r.Error == nil && json.Unmarshal(r.Result, &res) == nil && !res.IsError && res.text() == peer.name
	})
	return a, peer
}

// benchPair runs the direct side, then the forwarded side with its ratios.
func benchPair(b *testing.B, tool benchTool, kind string, c int, direct, forwarded benchTarget) {
	var base benchStats
	var baseCPU float64
	b.Run(direct.side, func(b *testing.B) {
		base, baseCPU = benchCalls(b, direct, tool.args, kind, c)
		base.report(b, "calls")
	})
	b.Run(forwarded.side, func(b *testing.B) {
		s, cpu := benchCalls(b, forwarded, tool.args, kind, c)
		s.report(b, "calls")
		benchRatios(b, s, base)
		if cpu > 0 && baseCPU > 0 {
			b.ReportMetric(cpu/baseCPU, "cpu_ratio")
		}
	})
}

// benchCalls makes b.N calls of target's tool with c callers of kind; it
// reports (and returns) the CPU time its nodes used per call, where it can
// be read (0 otherwise).
func benchCalls(b *testing.B, target benchTarget, args map[string]any, kind string, c int) (benchStats, float64) {
	hc := benchClientFor(target.n)
	b.Cleanup(hc.CloseIdleConnections)
	callers := make([]func() error, c)
	for i := range callers {
		switch kind {
		case "gosdk":
			callers[i] = benchSDKCaller(b, target, args, hc, legacyVersion)
		case "stateless":
			callers[i] = benchSDKCaller(b, target, args, hc, "")
		default:
			callers[i] = benchBareCaller(target, args, hc)
		}
	}
	for _, call := range callers { // warm every session and connection
		if err := call(); err != nil {
			b.Fatalf("warm-up call of %s on %s: %v", target.tool, target.n.name, err)
		}
	}
	before := benchCPUTimes(target.procs)
	s := benchRun(b, callers)
	after := benchCPUTimes(target.procs)
	var cpu time.Duration
	for i := range target.procs {
		if before[i] < 0 || after[i] < 0 || s.calls == 0 {
			return s, 0
		}
		cpu += after[i] - before[i]
	}
	perCall := float64(cpu.Microseconds()) / float64(s.calls)
	b.ReportMetric(perCall, "nodes_cpu_us/call")
	return s, perCall
}

// benchSDKCaller returns a function that calls target's tool from a go-sdk
// client of its own: on a session of version, or ("") negotiating
// 2026-07-28, which the client must get.
func benchSDKCaller(b *testing.B, target benchTarget, args map[string]any, hc *http.Client, version string) func() error {
	cs := benchConnect(b, target.n.mcpURL(), target.n.token, hc, version)
	if got := cs.InitializeResult().ProtocolVersion; version == "" && got != statelessVersion {
		b.Fatalf("the go-sdk client negotiated %s with %s, want %s", got, target.n.name, statelessVersion)
	}
	return benchToolCaller(cs, target.tool, args)
}

// benchBareCaller returns a function that POSTs one sessionless tools/call.
func benchBareCaller(target benchTarget, args map[string]any, hc *http.Client) func() error {
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": target.tool, "arguments": args}})
	return func() error {
		raw, err := benchPost(hc, target.n, body)
		if err != nil {
			return err
		}
		var rep struct {
			Result *callResult `json:"result"`
			Error  *rpcError   `json:"error"`
		}
		switch err := json.Unmarshal(raw, &rep); {
		case err != nil:
			return fmt.Errorf("answer %q: %w", raw, err)
		case rep.Error != nil || rep.Result == nil || rep.Result.IsError:
			return fmt.Errorf("%s failed: %s", target.tool, raw)
		}
		return nil
	}
}

// benchPost POSTs one JSON-RPC body to n's MCP endpoint and returns the
// answer's body (status 200 required).
func benchPost(hc *http.Client, n *node, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, n.mcpURL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	return raw, err
}
