package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The official MCP conformance suite (@modelcontextprotocol/conformance, in
// server mode) against a node whose only upstream is the go-sdk's
// everything-server over stdio. The suite cannot send headers, so a loopback
// reverse proxy in front of the node adds the bearer token.

// expectedFailures names each scenario that may fail through the node, with
// the reason. Every other failed scenario fails the test.
var expectedFailures = map[string]string{}

// minScenarios guards against a suite that silently ran nothing.
const minScenarios = 25

type scenarioScore struct {
	name           string
	passed, failed int
}

var (
	summaryLine = regexp.MustCompile(`^\S+ ([a-z0-9-]+): (\d+) passed, (\d+) failed`)
	ansiCodes   = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// parseSummary reads the scenario lines after "=== SUMMARY ===".
func parseSummary(out string) ([]scenarioScore, bool) {
	_, summary, ok := strings.Cut(ansiCodes.ReplaceAllString(out, ""), "=== SUMMARY ===")
	if !ok {
		return nil, false
	}
	var scores []scenarioScore
	for _, line := range strings.Split(summary, "\n") {
		if m := summaryLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			p, _ := strconv.Atoi(m[2])
			f, _ := strconv.Atoi(m[3])
			scores = append(scores, scenarioScore{m[1], p, f})
		}
	}
	return scores, len(scores) > 0
}

// tokenProxy serves a reverse proxy to target on 127.0.0.1 that adds the
// bearer token and keeps Host and Origin as the client sent them (so the
// node's DNS-rebinding checks see what the suite sent).
func tokenProxy(t *testing.T, target, token string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("Authorization", "Bearer "+token)
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(bufferBody(rp))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL
}

// bufferBody reads each request body in full before next sees it. Without
// it, a Go ReverseProxy may still be reading the incoming body (to its EOF)
// when it flushes the node's early SSE headers to the client, after which
// net/http refuses that read and the proxy drops the backend connection.
func bufferBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "proxy: read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func TestConformance(t *testing.T) {
	a := requireNodeAssets(t)
	ev := buildBinaries(t).everything
	n := startNode(t, nodeOptions{name: "conformance", servers: map[string]serverEntry{"everything": {Command: ev}}})
	proxy := tokenProxy(t, n.url, n.token)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	outDir := t.TempDir()
	cmd := a.command(ctx, filepath.Join(a.scripts, "node_modules", ".bin", "conformance"),
		"server", "--url", proxy+"/mcp", "-o", outDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	scores, ok := parseSummary(out.String())
	if !ok || len(scores) < minScenarios {
		t.Fatalf("conformance suite (%v) gave no summary of at least %d scenarios:\n%s", runErr, minScenarios, out.String())
	}
	judgeConformance(t, scores, time.Since(start))
	if t.Failed() {
		logFailedChecks(t, outDir)
	}
}

func judgeConformance(t *testing.T, scores []scenarioScore, took time.Duration) {
	t.Helper()
	var passed, failed, checksPassed, checksFailed int
	for _, s := range scores {
		checksPassed += s.passed
		checksFailed += s.failed
		if s.failed == 0 {
			passed++
			if reason, ok := expectedFailures[s.name]; ok {
				t.Errorf("scenario %s passes now: remove it from expectedFailures (%s)", s.name, reason)
			}
			continue
		}
		failed++
		if reason, ok := expectedFailures[s.name]; ok {
			t.Logf("scenario %s fails as expected: %s", s.name, reason)
		} else {
			t.Errorf("scenario %s: %d checks failed", s.name, s.failed)
		}
	}
	t.Logf("conformance: %d passed, %d failed (scenarios; checks %d passed, %d failed) in %v",
		passed, failed, checksPassed, checksFailed, took.Round(time.Millisecond))
}

// logFailedChecks logs every check that did not succeed, from the suite's
// checks.json files.
func logFailedChecks(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var checks []map[string]any
		if json.Unmarshal(b, &checks) != nil {
			continue
		}
		for _, c := range checks {
			if c["status"] != "SUCCESS" {
				js, _ := json.MarshalIndent(c, "", "  ")
				t.Logf("failed check in %s:\n%s", filepath.Base(filepath.Dir(f)), js)
			}
		}
	}
}

func TestParseConformanceSummary(t *testing.T) {
	out := "=== Running scenario: ping ===\n✓ ping: 9 passed, 9 failed\n\n=== SUMMARY ===\n" +
		"\x1b[32m✓ server-initialize: 1 passed, 0 failed\x1b[0m\n✗ tools-call-error: 0 passed, 2 failed\n\nTotal: 1 passed, 2 failed\n"
	cases := []struct {
		name, out string
		want      []scenarioScore
		ok        bool
	}{
		{"summary", out, []scenarioScore{{"server-initialize", 1, 0}, {"tools-call-error", 0, 2}}, true},
		{"no summary", "=== Running scenario: ping ===\n✓ ping: 1 passed, 0 failed\n", nil, false},
		{"empty summary", "=== SUMMARY ===\n\nTotal: 0 passed, 0 failed\n", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseSummary(tc.out)
			if ok != tc.ok || !slices.Equal(got, tc.want) {
				t.Errorf("parseSummary = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
