package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The client verbs (members, peers, tools, call) run as the built binary
// against two real federated nodes: tables and -o json parsed, exit
// statuses and the server's messages checked.

// cliRun is one run of the binary.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runCLI runs mcpmesh with args; env holds extra KEY=VALUE pairs on top of
// a clean environment.
func runCLI(t *testing.T, env []string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(buildBinaries(t).mcpmesh, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run mcpmesh %q: %v", args, err)
	}
	return cliRun{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
}

// cliEnv points the client verbs at n.
func cliEnv(n *node) []string {
	return []string{"MCPMESH_GATEWAY=" + n.url, "MCPMESH_TOKEN=" + n.token}
}

// cliOK runs args against n and fails unless the exit status is 0.
func cliOK(t *testing.T, n *node, args ...string) string {
	t.Helper()
	r := runCLI(t, cliEnv(n), args...)
	if r.code != 0 {
		t.Fatalf("mcpmesh %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

// cliJSON runs args with -o json and decodes stdout into v.
func cliJSON(t *testing.T, n *node, v any, args ...string) {
	t.Helper()
	out := cliOK(t, n, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("mcpmesh %q -o json printed %q: %v", args, out, err)
	}
}

// parseTable checks that out is a table with header's columns, aligned
// (each cell starts where its header does), and returns its rows as cells
// (the last column may hold spaces).
func parseTable(t *testing.T, out string, header ...string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Fields(lines[0]); !slices.Equal(got, header) {
		t.Fatalf("table header %q, want %q; table:\n%s", got, header, out)
	}
	var starts []int
	for _, h := range header {
		starts = append(starts, strings.Index(lines[0], h))
	}
	var rows [][]string
	for _, line := range lines[1:] {
		rows = append(rows, splitRow(t, []rune(line), starts, out))
	}
	return rows
}

func splitRow(t *testing.T, line []rune, starts []int, table string) []string {
	t.Helper()
	var cells []string
	for i, start := range starts {
		end := len(line)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		if start >= len(line) || end > len(line) || line[start] == ' ' || (start > 0 && line[start-1] != ' ') {
			t.Fatalf("row %q is not aligned on its header; table:\n%s", string(line), table)
		}
		cells = append(cells, strings.TrimSpace(string(line[start:end])))
	}
	return cells
}

// column is the cells of column i.
func column(rows [][]string, i int) []string {
	var out []string
	for _, row := range rows {
		out = append(out, row[i])
	}
	return out
}

// TestCLI federates two real nodes with `mcpmesh peers add` and drives
// every client verb against the first.
func TestCLI(t *testing.T) {
	a := startMeshNode(t, "cli-a")
	b := startMeshNode(t, "cli-b", "--join", ringInfo(t, a).GossipAddress)
	wait.For(t, ringTimeout, func() bool {
		return len(ringAlive(t, a)) == 2 && len(ringAlive(t, b)) == 2
	}, "waiting for both nodes to see each other alive")
	t.Run("peers add", func(t *testing.T) { checkCLIPeersAdd(t, a, b) })
	wait.For(t, ringTimeout, func() bool {
		var tools []listedTool
		cliJSON(t, a, &tools, "tools")
		return slices.ContainsFunc(tools, func(tool listedTool) bool { return tool.Name == "pb__whoami" })
	}, "waiting for cli-a to list pb__whoami")
	t.Run("members", func(t *testing.T) { checkCLIMembers(t, a) })
	t.Run("peers list", func(t *testing.T) { checkCLIPeersList(t, a, b) })
	t.Run("tools", func(t *testing.T) { checkCLITools(t, a) })
	t.Run("call", func(t *testing.T) { checkCLICall(t, a) })
	t.Run("errors", func(t *testing.T) { checkCLIErrors(t, a) })
	t.Run("usage errors", func(t *testing.T) { checkCLIUsage(t, a) })
	t.Run("help", func(t *testing.T) { checkCLIHelp(t) })
	t.Run("set-trust and remove", func(t *testing.T) { checkCLITrustRemove(t, a) })
}

func checkCLIPeersAdd(t *testing.T, a, b *node) {
	out := cliOK(t, a, "peers", "add", b.url, "--name", "pb", "--trust", "full")
	rows := parseTable(t, out, "NAME", "URL", "MEMBER", "TRUST", "STATUS", "TOOLS")
	if len(rows) != 1 || rows[0][0] != "pb" || rows[0][1] != b.url || rows[0][2] != b.name || rows[0][3] != "full" {
		t.Fatalf("peers add printed rows %q, want one row pb %s %s full", rows, b.url, b.name)
	}
}

func checkCLIMembers(t *testing.T, a *node) {
	rows := parseTable(t, cliOK(t, a, "members"), "NAME", "ADDRESS", "STATUS", "PEER", "URL")
	slices.SortFunc(rows, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
	if !slices.Equal(column(rows, 0), []string{"cli-a", "cli-b"}) || !slices.Equal(column(rows, 2), []string{"alive", "alive"}) {
		t.Errorf("members rows %q, want cli-a and cli-b alive", rows)
	}
	if !slices.Equal(column(rows, 3), []string{"-", "pb"}) || !strings.HasPrefix(rows[1][1], "127.0.0.1:") {
		t.Errorf("members rows %q, want peer - for cli-a, pb for cli-b, and gossip addresses", rows)
	}
	var members []api.Member
	cliJSON(t, a, &members, "members")
	if len(members) != 2 {
		t.Errorf("members -o json: %+v, want two members", members)
	}
}

func checkCLIPeersList(t *testing.T, a, b *node) {
	rows := parseTable(t, cliOK(t, a, "peers", "list"), "NAME", "URL", "MEMBER", "TRUST", "STATUS", "TOOLS")
	want := []string{"pb", b.url, b.name, "full", "online", "4"}
	if len(rows) != 1 || !slices.Equal(rows[0], want) {
		t.Errorf("peers list rows %q, want [%q]", rows, want)
	}
	var peers []api.Peer
	cliJSON(t, a, &peers, "peers", "list")
	if len(peers) != 1 || peers[0].Name != "pb" || peers[0].TrustLevel != "full" || peers[0].Tools != 4 {
		t.Errorf("peers list -o json: %+v, want pb with trust full and 4 tools", peers)
	}
}

func checkCLITools(t *testing.T, a *node) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"federated", []string{"tools"}, append(slices.Clone(demoTools), ringDemo("pb")...)},
		{"local", []string{"tools", "--local"}, slices.Clone(demoTools)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := parseTable(t, cliOK(t, a, tc.args...), "NAME", "SOURCE", "DESCRIPTION")
			names := column(rows, 0)
			slices.Sort(names)
			slices.Sort(tc.want)
			if !slices.Equal(names, tc.want) {
				t.Errorf("%q lists %q, want %q", tc.args, names, tc.want)
			}
			for _, row := range rows {
				if source := map[bool]string{true: "pb", false: "cli-a"}[strings.HasPrefix(row[0], "pb__")]; row[1] != source || row[2] == "-" || len([]rune(row[2])) > 60 {
					t.Errorf("row %q: want source %s and a description of at most 60 characters", row, source)
				}
			}
			var tools []listedTool
			cliJSON(t, a, &tools, tc.args...)
			if len(tools) != len(tc.want) {
				t.Errorf("%q -o json: %d tools, want %d", tc.args, len(tools), len(tc.want))
			}
		})
	}
}

func checkCLICall(t *testing.T, a *node) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"echo", []string{"call", "echo", `{"text":"hello mesh"}`}, "hello mesh\n"},
		{"add", []string{"call", "add", `{"a":2,"b":40}`}, "42\n"},
		{"no arguments", []string{"call", "whoami"}, "cli-a\n"},
		{"federated whoami", []string{"call", "pb__whoami"}, "cli-b\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if out := cliOK(t, a, tc.args...); out != tc.want {
				t.Errorf("mcpmesh %q printed %q, want %q", tc.args, out, tc.want)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var res callResult
		cliJSON(t, a, &res, "call", "pb__whoami")
		if res.IsError || res.text() != "cli-b" {
			t.Errorf("call -o json: %+v, want the result with text cli-b", res)
		}
	})
}

// checkCLIErrors: a failing call or request exits 1 with the server's
// message on stderr and nothing on stdout.
func checkCLIErrors(t *testing.T, a *node) {
	badToken := a.do(t, http.MethodGet, "/api/federation/members", nil, map[string]string{"Authorization": "Bearer not-a-jwt"})
	var refusal api.Error
	if badToken.status != http.StatusUnauthorized || json.Unmarshal(badToken.body, &refusal) != nil || refusal.Error == "" {
		t.Fatalf("GET members with a bad token: %d %s, want 401 with an error", badToken.status, badToken.body)
	}
	closed := "http://" + freeAddr(t)
	cases := []struct {
		name   string
		env    []string
		args   []string
		stderr string
	}{
		{"isError", cliEnv(a), []string{"call", "sleep", `{"ms":-1}`}, "ms must be"},
		{"unknown tool", cliEnv(a), []string{"call", "no_such_tool"}, "unknown tool"},
		{"bad token", []string{"MCPMESH_GATEWAY=" + a.url, "MCPMESH_TOKEN=not-a-jwt"}, []string{"members"}, refusal.Error},
		{"bad token on call", []string{"MCPMESH_GATEWAY=" + a.url}, []string{"call", "echo", "--token", "not-a-jwt"}, refusal.Error},
		{"unknown peer", cliEnv(a), []string{"peers", "remove", "nobody"}, "nobody"},
		{"bad trust", cliEnv(a), []string{"peers", "set-trust", "pb", "weird"}, "weird"},
		{"unreachable", []string{"MCPMESH_TOKEN=" + a.token}, []string{"members", "--gateway", closed}, closed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Errorf("mcpmesh %q: exit %d, stdout %q, stderr %q; want exit 1, no stdout, stderr with %q",
					tc.args, r.code, r.stdout, r.stderr, tc.stderr)
			}
		})
	}
}

// checkCLIUsage: mistakes on the command line exit 2 and say what was
// wrong, before any request.
func checkCLIUsage(t *testing.T, a *node) {
	cases := []struct {
		name   string
		env    []string
		args   []string
		stderr string
	}{
		{"missing URL", cliEnv(a), []string{"peers", "add"}, "URL"},
		{"bad JSON", cliEnv(a), []string{"call", "echo", "{bad"}, "JSON object"},
		{"JSON not an object", cliEnv(a), []string{"call", "echo", "[1]"}, "JSON object"},
		{"missing tool", cliEnv(a), []string{"call"}, "TOOL"},
		{"extra argument", cliEnv(a), []string{"members", "extra"}, "no arguments"},
		{"bad output", cliEnv(a), []string{"tools", "-o", "yaml"}, "table or json"},
		{"unknown flag", cliEnv(a), []string{"tools", "--bogus"}, "bogus"},
		{"no subcommand", cliEnv(a), []string{"peers"}, "list|add|remove|set-trust"},
		{"unknown subcommand", cliEnv(a), []string{"peers", "frob"}, "frob"},
		{"no token", []string{"MCPMESH_GATEWAY=" + a.url}, []string{"members"}, "MCPMESH_TOKEN"},
		{"bad gateway", cliEnv(a), []string{"members", "--gateway", "ftp://x"}, "ftp://x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("mcpmesh %q: exit %d, stderr %q; want exit 2 and stderr with %q", tc.args, r.code, r.stderr, tc.stderr)
			}
		})
	}
}

func checkCLIHelp(t *testing.T) {
	for _, args := range [][]string{
		{"members"}, {"tools"}, {"call"}, {"peers"}, {"peers", "list"}, {"peers", "add"}, {"peers", "remove"}, {"peers", "set-trust"},
		{"keyring"}, {"keyring", "list"}, {"keyring", "install"}, {"keyring", "use"}, {"keyring", "remove"}, {"keygen"}, {"serve"}, {"token"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, nil, append(args, "--help")...)
			out := r.stdout + r.stderr // serve prints its flags on stderr, as flag sets do
			if r.code != 0 || !regexp.MustCompile(`Usage: mcpmesh `+strings.Join(args, " ")+`(\s|$)`).MatchString(out) || !regexp.MustCompile(`Examples?[^\n]*:\n  [^\n]*mcpmesh `).MatchString(out) {
				t.Errorf("mcpmesh %q --help: exit %d, stdout %q; want 0 with a usage line and an example", args, r.code, r.stdout)
			}
		})
	}
}

func checkCLITrustRemove(t *testing.T, a *node) {
	rows := parseTable(t, cliOK(t, a, "peers", "set-trust", "pb", "discover"), "NAME", "URL", "MEMBER", "TRUST", "STATUS", "TOOLS")
	if len(rows) != 1 || rows[0][3] != "discover" {
		t.Errorf("set-trust printed %q, want pb with trust discover", rows)
	}
	var peers []api.Peer
	cliJSON(t, a, &peers, "peers", "list")
	if len(peers) != 1 || peers[0].TrustLevel != "discover" {
		t.Errorf("after set-trust: peers %+v, want pb at discover", peers)
	}
	if out := cliOK(t, a, "peers", "remove", "pb"); !strings.Contains(out, "pb") {
		t.Errorf("peers remove printed %q, want it to name pb", out)
	}
	cliJSON(t, a, &peers, "peers", "list")
	if len(peers) != 0 {
		t.Errorf("after remove: peers %+v, want none", peers)
	}
}
