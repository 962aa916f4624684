package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// previousRelease is the release before this one, a commit of this
// repository: the mixed-version tests run its binary, built from git, beside
// this tree's in one ring. Bump it to the commit of each release as it is
// cut, so that the release after it is tested against it.
const previousRelease = "a0586a9bc0b9b61e0f4a47cd5c9663b3b272c5ac"

// preHopRelease is the last release whose nodes do not serve 2026-07-28
// (before issue 10): a peer of it gets this node's forwarded requests over
// the link's MCP session instead of the hop (federation/hopversion.go).
// Drop it, and its test, once no release a ring may still run predates
// the hop.
const preHopRelease = "325745bbb7b54a9c0cb216e1c3a047fbb41fd4ba"

// releaseVersion is the version a release's binary is built with
// (-X main.version), so a test can tell which binary a member runs.
func releaseVersion(rev string) string { return "rel-" + rev[:7] }

// releaseBuild is one release's binary, built at most once per test run.
type releaseBuild struct {
	once sync.Once
	bin  string
	err  error
}

var (
	releasesMu sync.Mutex
	releases   = map[string]*releaseBuild{}
)

// releaseBinary builds rev's ./cmd/mcpmesh once per test run (into ./tmp,
// beside this tree's binary) and returns its path. It fails the test,
// never skips it, when the commit cannot be built: a clone without that
// commit (a shallow one) must be deepened.
func releaseBinary(t testing.TB, rev string) string {
	t.Helper()
	releasesMu.Lock()
	b := releases[rev]
	if b == nil {
		b = &releaseBuild{}
		releases[rev] = b
	}
	releasesMu.Unlock()
	b.once.Do(func() {
		start := time.Now()
		if b.bin, b.err = buildRelease(rev); b.err == nil {
			t.Logf("built release %s in %v", rev[:7], time.Since(start).Round(time.Millisecond))
		}
	})
	if b.err != nil {
		t.Fatalf("build release %s: %v", rev, b.err)
	}
	return b.bin
}

func buildRelease(rev string) (string, error) {
	root, err := gitOutput("", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("the test builds releases from this repository's git history, and found none: %w", err)
	}
	if _, err := gitOutput(root, "cat-file", "-e", rev+"^{commit}"); err != nil {
		return "", fmt.Errorf("commit %s is not in the history of %s (a shallow clone? run `git fetch --unshallow`): %w",
			rev, root, err)
	}
	tmp, err := filepath.Abs("tmp")
	if err != nil {
		return "", fmt.Errorf("tmp dir: %w", err)
	}
	src, err := releaseSource(root, rev, tmp)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "mcpmesh-"+rev[:7])
	return bin, goBuild(src, bin, "-X main.version="+releaseVersion(rev))
}

// releaseSource is rev's tree in tmp/src-<rev> (git-ignored, like the
// binaries), written once and kept: a commit's tree never changes, and a
// build from the same directory finds its packages in the build cache, so
// later runs only link (about 3 s instead of 20 to 40 here). The tree is
// written beside it and renamed into place, so it is never seen half
// written, even by a test run in parallel.
func releaseSource(root, rev, tmp string) (string, error) {
	dir := filepath.Join(tmp, "src-"+rev)
	if fileExists(filepath.Join(dir, "go.mod")) {
		return dir, nil
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("tmp dir: %w", err)
	}
	part, err := os.MkdirTemp(tmp, "src-part-")
	if err != nil {
		return "", fmt.Errorf("tmp dir: %w", err)
	}
	defer os.RemoveAll(part) // left only when the rename failed
	if err := extractCommit(root, rev, part); err != nil {
		return "", err
	}
	if err := os.Rename(part, dir); err != nil && !fileExists(filepath.Join(dir, "go.mod")) {
		return "", fmt.Errorf("move the tree of %s into place: %w", rev, err)
	}
	return dir, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// gitOutput runs git in dir ("" the current one) and returns its trimmed
// output.
func gitOutput(dir string, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	out, err := exec.Command("git", args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
	}
	return strings.TrimSpace(string(out)), err
}

// extractCommit writes the tree of rev into dir (git archive | tar -x):
// no worktree is registered in the repository, so none is left behind.
func extractCommit(root, rev, dir string) error {
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", rev)
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	untar.Stdin = pipe
	var archiveErr, untarErr strings.Builder
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	if err := archive.Start(); err != nil {
		return fmt.Errorf("git archive %s: %w", rev, err)
	}
	if err := untar.Run(); err != nil {
		_ = archive.Wait()
		return fmt.Errorf("tar -x of git archive %s: %w: %s", rev, err, untarErr.String())
	}
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w: %s", rev, err, archiveErr.String())
	}
	return nil
}

// goBuild builds src's ./cmd/mcpmesh to bin, without -race (one build of a
// whole tree on a busy machine), with the module proxy as the only network
// and the caller's GOFLAGS and go.work left out (they are this tree's, not
// the old one's). The settings are those of this tree's binary, so the
// dependencies come from the build cache that build filled.
func goBuild(src, bin, ldflags string) error {
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "./cmd/mcpmesh")
	cmd.Dir = src
	cmd.Env = append(cleanEnv(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/mcpmesh in %s: %w\n%s", src, err, out)
	}
	return nil
}
