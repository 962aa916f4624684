package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSeedPlan runs the seed federation test plan as written
// (scripts/seed-plan.sh): its curls against `PORT=8000 make dev &` and
// `PORT=8001 make dev &`, all ten cases. It needs ports 8000, 8001, 9000
// and 9001 free on 127.0.0.1.
func TestSeedPlan(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", "scripts/seed-plan.sh")
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), "DATA_ROOT="+t.TempDir(), "JWT_SECRET=")
	out, err := cmd.CombinedOutput()
	t.Logf("seed plan output:\n%s", out)
	if err != nil {
		t.Fatalf("seed plan failed: %v", err)
	}
	if !strings.Contains(string(out), "seed plan: 10 passed, 0 failed") {
		t.Fatal("seed plan did not pass all ten cases")
	}
}
