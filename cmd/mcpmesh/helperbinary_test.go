package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// helperBinary is a program the end-to-end tests build once per test
// binary into tmp/ (git-ignored): `go build -o tmp/<name> <pkg>`, run in
// dir (relative to this package; "" is here).
type helperBinary struct {
	name, dir, pkg string

	once sync.Once
	path string
	err  error
}

// build builds the program on first use and returns its path; a failed
// build fails every test that needs it.
func (h *helperBinary) build(t testing.TB) string {
	t.Helper()
	h.once.Do(func() { h.path, h.err = h.doBuild() })
	if h.err != nil {
		t.Fatal(h.err)
	}
	return h.path
}

func (h *helperBinary) doBuild() (string, error) {
	out, err := filepath.Abs(filepath.Join("tmp", h.name))
	if err != nil {
		return "", fmt.Errorf("tmp dir: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, h.pkg)
	cmd.Dir = h.dir
	if log, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", h.name, err, log)
	}
	return out, nil
}
