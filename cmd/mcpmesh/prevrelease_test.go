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

// previousVersion is the version the previous release's binary is built
// with (-X main.version), so a test can tell which binary a member runs.
var previousVersion = "prev-" + previousRelease[:7]

var (
	prevOnce sync.Once
	prevBin  string
	errPrev  error
)

// previousBinary builds previousRelease's ./cmd/mcpmesh once per test run
// (into ./tmp, beside this tree's binary) and returns its path. It fails
// the test, never skips it, when the commit cannot be built: a clone
// without that commit (a shallow one) must be deepened.
func previousBinary(t testing.TB) string {
	t.Helper()
	prevOnce.Do(func() {
		start := time.Now()
		prevBin, errPrev = buildPrevious()
		t.Logf("built the previous release %s in %v", previousRelease[:7], time.Since(start).Round(time.Millisecond))
	})
	if errPrev != nil {
		t.Fatalf("build the previous release %s: %v", previousRelease, errPrev)
	}
	return prevBin
}

func buildPrevious() (string, error) {
	root, err := gitOutput("", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("the test builds the previous release from this repository's git history, and found none: %w", err)
	}
	if _, err := gitOutput(root, "cat-file", "-e", previousRelease+"^{commit}"); err != nil {
		return "", fmt.Errorf("commit %s is not in the history of %s (a shallow clone? run `git fetch --unshallow`): %w",
			previousRelease, root, err)
	}
	src, err := os.MkdirTemp("", "mcpmesh-prev-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(src)
	if err := extractCommit(root, previousRelease, src); err != nil {
		return "", err
	}
	bin, err := filepath.Abs(filepath.Join("tmp", "mcpmesh-"+previousRelease[:7]))
	if err != nil {
		return "", fmt.Errorf("tmp dir: %w", err)
	}
	return bin, goBuild(src, bin, "-X main.version="+previousVersion)
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
		return fmt.Errorf("go build ./cmd/mcpmesh of %s: %w\n%s", previousRelease, err, out)
	}
	return nil
}
