package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// benchEndpoint is one side of BenchmarkUpstream: an MCP URL, the bearer
// token it needs ("" for none), the name its tool has there, and the
// processes whose CPU time per call is reported.
type benchEndpoint struct {
	side, url, token, tool string
	procs                  []benchProc
}

// benchProc is a process of a benchmark, reported as <name>_cpu_us/call.
type benchProc struct {
	name string
	p    *proc
}

// BenchmarkUpstream compares a tools/call of the everything-server's
// test_simple_text (a Streamable HTTP upstream, started -stateless=false)
// made through a node (evh__test_simple_text) with the same call made
// straight to the upstream, by go-sdk client sessions (one per caller,
// reused) at 1 and 8 concurrent callers. The via-node side also reports
// its ratios to the direct side just measured (p50_ratio, p99_ratio,
// tput_ratio). On Linux both sides report the CPU time per call of the
// upstream and the node (upstream_cpu_us/call, node_cpu_us/call): on a
// shared machine they move less than the rates, and their quotient says
// whether the hop costs less than the no-op upstream behind it.
func BenchmarkUpstream(b *testing.B) {
	ev, upstream := startEverythingHTTPProc(b)
	n := benchNode(b, "bench-upstream", false)
	benchAddUpstream(b, n, "evh", upstream)
	procs := []benchProc{{"upstream", ev}, {"node", n.proc}}
	direct := benchEndpoint{"direct", upstream, "", "test_simple_text", procs[:1]}
	via := benchEndpoint{"via-node", n.mcpURL(), n.token, "evh__test_simple_text", procs}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			var base benchStats
			b.Run(direct.side, func(b *testing.B) {
				base = benchEndpointCalls(b, direct, c)
				base.report(b, "calls")
			})
			b.Run(via.side, func(b *testing.B) {
				s := benchEndpointCalls(b, via, c)
				s.report(b, "calls")
				benchRatios(b, s, base)
			})
		})
	}
}

// benchAddUpstream adds the Streamable HTTP server at url to n as name
// (prefix name) with POST /api/servers and waits until it is ready.
func benchAddUpstream(b *testing.B, n *node, name, url string) {
	b.Helper()
	body := mustJSON(map[string]any{"name": name, "url": url, "prefix": name})
	if r := n.do(b, http.MethodPost, "/api/servers", body, nil); r.status != http.StatusCreated {
		b.Fatalf("POST %s/api/servers %s: status %d, body %s; want 201", n.url, body, r.status, r.body)
	}
}

// benchEndpointCalls makes b.N calls of ep's tool with c callers, each on
// a go-sdk session of its own, warmed by one call first.
func benchEndpointCalls(b *testing.B, ep benchEndpoint, c int) benchStats {
	hc := benchHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	callers := make([]func() error, c)
	for i := range callers {
		callers[i] = benchToolCaller(benchConnect(b, ep.url, ep.token, hc, ""), ep.tool, map[string]any{})
	}
	for _, call := range callers {
		if err := call(); err != nil {
			b.Fatalf("warm-up call of %s at %s: %v", ep.tool, ep.url, err)
		}
	}
	before := benchCPUTimes(ep.procs)
	s := benchRun(b, callers)
	after := benchCPUTimes(ep.procs)
	for i, p := range ep.procs {
		if before[i] >= 0 && after[i] >= 0 && s.calls > 0 {
			b.ReportMetric(float64((after[i]-before[i]).Microseconds())/float64(s.calls), p.name+"_cpu_us/call")
		}
	}
	return s
}

// benchCPUTimes are the CPU times (user and system) the processes used so
// far; -1 each where it cannot be read (not Linux).
func benchCPUTimes(procs []benchProc) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		out[i] = procCPUTime(p.p.cmd.Process.Pid)
	}
	return out
}

// procCPUTime reads utime+stime of pid from /proc/<pid>/stat (in clock
// ticks of 1/100 s, as on every Linux platform Go runs on), or -1.
func procCPUTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: count after its ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(raw[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// benchConnect opens one go-sdk session to url over hc, in version (the
// newest both sides speak when ""), with token as a bearer when not "";
// it is closed when the benchmark ends.
func benchConnect(b *testing.B, url, token string, hc *http.Client, version string) *mcp.ClientSession {
	b.Helper()
	if token != "" {
		hc = &http.Client{Transport: bearer{token, hc.Transport}}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpmesh-bench", Version: "0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var opts *mcp.ClientSessionOptions
	if version != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, opts)
	if err != nil {
		b.Fatalf("go-sdk connect %s: %v", url, err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}

// benchToolCaller returns a function that calls tool with args on cs and
// fails on an error or an isError result.
func benchToolCaller(cs *mcp.ClientSession, tool string, args map[string]any) func() error {
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	return func() error {
		res, err := cs.CallTool(context.Background(), params)
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("%s answered isError: %s", tool, contentText(res.Content))
		}
		return nil
	}
}
