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

// TestKubernetesArgsParse: the StatefulSet's container arguments, with
// the pod's variables filled in as the kubelet does, are accepted by
// `mcpmesh serve` (deploy/kubernetes/check checks the manifests' types and
// cross-references; this checks the flags' values).
func TestKubernetesArgsParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "statefulset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pod := strings.NewReplacer("$(POD_NAME)", "mcpmesh-0", "$(POD_NAMESPACE)", "default", "$(POD_IP)", "10.1.2.3")
	var args []string
	for _, m := range regexp.MustCompile(`(?m)^\s*- (--[a-z-]+=\S+)\s*$`).FindAllStringSubmatch(string(b), -1) {
		args = append(args, pod.Replace(m[1]))
	}
	if len(args) < 5 {
		t.Fatalf("found %d --flag=value arguments in statefulset.yaml: %q", len(args), args)
	}
	env := mapEnv(map[string]string{"MCPMESH_JWT_SECRET": secretA})
	cfg, err := parseServe(args, env, fixedHost("host"), io.Discard)
	if err != nil {
		t.Fatalf("mcpmesh serve %q: %v", args, err)
	}
	if cfg.Name != "mcpmesh-0" || cfg.AdvertiseURL != "http://mcpmesh-0.mcpmesh-gossip.default.svc.cluster.local:8000" ||
		!slices.Equal(cfg.Join, []string{"dns:mcpmesh-gossip.default.svc.cluster.local:9000"}) {
		t.Fatalf("name %q, advertise URL %q, join %q", cfg.Name, cfg.AdvertiseURL, cfg.Join)
	}
}
