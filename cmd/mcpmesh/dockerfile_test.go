package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: its keyword, upper-cased,
// and the rest of its (continued) line.
type instruction struct{ cmd, args string }

// stage is one FROM and the instructions under it.
type stage struct {
	from, name string
	ins        []instruction
}

// parseDockerfile reads the instructions of a Dockerfile, joining lines
// continued with '\' and leaving comments and blank lines out.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var line string
	for raw := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			line += cont + " "
			continue
		}
		line += trimmed
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerfile: the Dockerfile at the top builds the binary static in a
// golang stage of go.mod's Go, and runs it as a non-root user from a small
// runtime image, without a HEALTHCHECK (see docs/deploy.md).
func TestDockerfile(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(text))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, run := stages[0], stages[len(stages)-1]
	checkBuildStage(t, build)
	checkRuntimeStage(t, run, build.name)
	for _, s := range stages {
		if len(s.all("HEALTHCHECK")) > 0 {
			t.Errorf("stage %s has a HEALTHCHECK; orchestrators probe /health and /ready", s.from)
		}
	}
}

func checkBuildStage(t *testing.T, build stage) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil || build.from != "golang:"+string(goVersion[1]) || build.name == "" {
		t.Errorf("build stage FROM %s AS %q; want golang:%s (go.mod's Go) with a name", build.from, build.name, goVersion[1])
	}
	runs := strings.Join(build.all("RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "-X main.version=", "./cmd/mcpmesh"} {
		if !strings.Contains(runs, want) {
			t.Errorf("build stage's RUN lines lack %q:\n%s", want, runs)
		}
	}
}

func checkRuntimeStage(t *testing.T, run stage, buildName string) {
	if !strings.HasPrefix(run.from, "gcr.io/distroless/static") && run.from != "scratch" {
		t.Errorf("runtime stage FROM %s; want distroless static or scratch", run.from)
	}
	users := run.all("USER")
	if len(users) == 0 || slices.ContainsFunc(users, func(u string) bool {
		name, _, _ := strings.Cut(u, ":")
		return name == "root" || name == "0"
	}) {
		t.Errorf("runtime stage USER %q; want a non-root user", users)
	}
	entry := run.all("ENTRYPOINT")
	var argv []string
	if len(entry) != 1 || json.Unmarshal([]byte(entry[0]), &argv) != nil || len(argv) == 0 {
		t.Fatalf("runtime stage ENTRYPOINT %q; want one in exec form (a JSON array)", entry)
	}
	copied := false
	for _, c := range run.all("COPY") {
		f := strings.Fields(c)
		copied = copied || (slices.Contains(f, "--from="+buildName) && f[len(f)-1] == argv[0])
	}
	if !copied {
		t.Errorf("ENTRYPOINT %s is not the binary copied from the %s stage", argv[0], buildName)
	}
	for _, env := range []string{"MCPMESH_HTTP=0.0.0.0:", "MCPMESH_GOSSIP=0.0.0.0:", "MCPMESH_DATA_DIR="} {
		if !strings.Contains(strings.Join(run.all("ENV"), " "), env) {
			t.Errorf("runtime stage ENV lacks %s", env)
		}
	}
}
