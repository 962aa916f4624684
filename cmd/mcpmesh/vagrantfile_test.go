package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// execStartFlags are the flag names of the first `ExecStart=... serve`
// command in text, continued lines joined.
func execStartFlags(t *testing.T, what, text string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "ExecStart=/usr/local/bin/mcpmesh serve ")
	if !ok {
		t.Fatalf("%s has no ExecStart of mcpmesh serve", what)
	}
	var cmd strings.Builder
	for line := range strings.SplitSeq(rest, "\n") {
		body, cont := strings.CutSuffix(strings.TrimSpace(line), `\`)
		cmd.WriteString(body + " ")
		if !cont {
			break
		}
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?:^|\s)--([a-z-]+)`).FindAllStringSubmatch(cmd.String(), -1) {
		flags = append(flags, m[1])
	}
	slices.Sort(flags)
	return flags
}

// TestVagrantfileMatchesDeployDoc: the Vagrantfile runs its nodes with the
// flags of docs/deploy.md's three machines by hand (less the doc's
// --config, plus --demo for tools to call), and each is a serve flag.
func TestVagrantfileMatchesDeployDoc(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	doc := slices.DeleteFunc(execStartFlags(t, "docs/deploy.md", read("docs/deploy.md")), func(f string) bool { return f == "config" })
	vagrant := slices.DeleteFunc(execStartFlags(t, "Vagrantfile", read("Vagrantfile")), func(f string) bool { return f == "demo" })
	if !slices.Equal(doc, vagrant) {
		t.Fatalf("the Vagrantfile's serve flags %v differ from docs/deploy.md's %v", vagrant, doc)
	}
	fs := newServeFlagSet(&serveFlags{}, io.Discard)
	for _, f := range vagrant {
		if fs.Lookup(f) == nil {
			t.Errorf("--%s is not a flag of mcpmesh serve", f)
		}
	}
}
