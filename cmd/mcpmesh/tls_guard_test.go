package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSkippedVerification: no product source turns certificate
// verification off (node-to-node calls never skip it; tests may, though
// none does).
func TestNoSkippedVerification(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == "tmp" || d.Name() == "data" || strings.HasPrefix(d.Name(), ".")) && path != root:
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "InsecureSkipVerify") {
			t.Errorf("%s sets InsecureSkipVerify: node-to-node calls must verify certificates (--tls-ca)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
