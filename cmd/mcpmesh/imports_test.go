package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ginPath is the web framework (Gin) only the gateway (and cmd) may depend on.
// In particular federation, the engine under the gateway, must not.
const ginPath = "github.com/gin-gonic/gin"

// layerRule says which other layers a layer's packages may import. A
// package may always import packages of its own layer.
type layerRule struct {
	mayImport  []string // other module layers it may import
	anything   bool     // may import any module package
	gin        bool     // may depend on Gin
	stdlibOnly bool     // may import nothing but the standard library
}

// importLayers is the one-way import graph of docs/architecture.md, keyed by
// the first path element under the module: cmd → anything; gateway →
// {api, federation, cluster, mcp, store}; federation → {api, cluster, mcp,
// store}; cluster → {store, internal} (internal for clustertest's use of
// the tests' polling helper); mcp and store are leaves; api (the REST API's
// wire types) and internal (internal/wait, the tests' polling helper) are
// leaves of the standard library only. So federation never
// imports the gateway (nor Gin), and nothing below the gateway imports
// federation.
var importLayers = map[string]layerRule{
	"cmd":        {anything: true, gin: true},
	"gateway":    {mayImport: []string{"api", "federation", "cluster", "mcp", "policy", "store"}, gin: true},
	"federation": {mayImport: []string{"api", "cluster", "mcp", "policy", "store"}},
	"policy":     {mayImport: []string{"api", "mcp"}},
	"cluster":    {mayImport: []string{"store", "internal"}},
	"mcp":        {},
	"store":      {},
	"api":        {stdlibOnly: true},
	"internal":   {stdlibOnly: true},
}

// listedPackage is the part of `go list -json` the check reads.
type listedPackage struct {
	ImportPath string
	Imports    []string // direct imports of the non-test files
	Deps       []string // transitive dependencies
	Error      *struct{ Err string }
}

// layerOf returns the layer of path inside module, or ok=false when path is
// not a package of module.
func layerOf(module, path string) (layer string, ok bool) {
	rest, found := strings.CutPrefix(path, module+"/")
	if !found {
		return "", path == module
	}
	layer, _, _ = strings.Cut(rest, "/")
	return layer, true
}

// violations returns one message per import that breaks the layer rules.
func violations(module string, pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		layer, ok := layerOf(module, p.ImportPath)
		if !ok {
			continue
		}
		rule, known := importLayers[layer]
		if !known {
			out = append(out, fmt.Sprintf("%s: layer %q has no import rule; add it to importLayers in cmd/mcpmesh/imports_test.go", p.ImportPath, layer))
			continue
		}
		out = append(out, moduleViolations(module, p, layer, rule)...)
		out = append(out, ginViolations(p, layer, rule)...)
		out = append(out, stdlibViolations(module, p, layer, rule)...)
	}
	return out
}

// stdlibViolations names the imports of a stdlibOnly layer that are not of
// the standard library (whose paths have no dot in their first element).
// The module's own packages and Gin are left to the other two rules, so
// that each bad import is named once.
func stdlibViolations(module string, p listedPackage, layer string, rule layerRule) []string {
	if !rule.stdlibOnly {
		return nil
	}
	var out []string
	for _, imp := range p.Imports {
		first, _, _ := strings.Cut(imp, "/")
		_, ours := layerOf(module, imp)
		if ours || !strings.Contains(first, ".") || imp == ginPath || strings.HasPrefix(imp, ginPath+"/") {
			continue
		}
		out = append(out, fmt.Sprintf("%s (layer %s) imports %s; %s may import only the standard library", p.ImportPath, layer, imp, layer))
	}
	return out
}

func moduleViolations(module string, p listedPackage, layer string, rule layerRule) []string {
	var out []string
	for _, imp := range p.Imports {
		target, ok := layerOf(module, imp)
		if !ok || target == layer || rule.anything || slices.Contains(rule.mayImport, target) {
			continue
		}
		out = append(out, fmt.Sprintf("%s (layer %s) imports %s (layer %s); %s may import only %v",
			p.ImportPath, layer, imp, target, layer, rule.mayImport))
	}
	return out
}

func ginViolations(p listedPackage, layer string, rule layerRule) []string {
	if rule.gin {
		return nil
	}
	for _, dep := range slices.Concat(p.Imports, p.Deps) {
		if dep == ginPath || strings.HasPrefix(dep, ginPath+"/") {
			return []string{fmt.Sprintf("%s (layer %s) depends on %s; only gateway and cmd may use Gin", p.ImportPath, layer, dep)}
		}
	}
	return nil
}

func TestImportDirection(t *testing.T) {
	module := goOutput(t, "", "list", "-m", "-f", "{{.Path}}")
	root := goOutput(t, "", "list", "-m", "-f", "{{.Dir}}")
	statSources(t, root)
	out := goOutput(t, root, "list", "-e", "-json=ImportPath,Imports,Deps,Error", "./...")
	pkgs, err := decodePackages(strings.NewReader(out))
	if err != nil {
		t.Fatalf("decode go list output: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		layer, _ := layerOf(module, p.ImportPath)
		seen[layer] = true
	}
	for _, want := range []string{"gateway", "federation", "cluster", "mcp", "store", "api"} {
		if !seen[want] {
			t.Fatalf("go list found no package of layer %q in %s; the check would be vacuous", want, root)
		}
	}
	for _, v := range violations(module, pkgs) {
		t.Error(v)
	}
}

// statSources stats every directory and .go file under root. The result of
// `go list` is invisible to go test's cache, but files the test itself
// opens or stats are not: this makes any source change rerun the test
// instead of replaying a cached pass.
func statSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
}

// goOutput runs the go command in dir ("" for the test's own) and returns
// its trimmed standard output.
func goOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// decodePackages reads the stream of JSON objects `go list -json` prints.
func decodePackages(r io.Reader) ([]listedPackage, error) {
	dec := json.NewDecoder(r)
	var pkgs []listedPackage
	for {
		var p listedPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
}

// TestViolations checks the checker itself on made-up import lists, so that
// TestImportDirection passing means something.
func TestViolations(t *testing.T) {
	const m = "example.com/mesh"
	pkg := func(path string, imports ...string) listedPackage {
		return listedPackage{ImportPath: m + "/" + path, Imports: imports}
	}
	tests := []struct {
		name string
		pkg  listedPackage
		want string // substring of the one expected violation; "" for none
	}{
		{"store leaf ok", pkg("store", "fmt", "errors"), ""},
		{"store subpackage imports store", pkg("store/badgerstore", m+"/store", "github.com/dgraph-io/badger/v4"), ""},
		{"store imports mcp", pkg("store", m+"/mcp"), "imports example.com/mesh/mcp (layer mcp)"},
		{"store imports cluster", pkg("store/badgerstore", m+"/cluster"), "store may import only []"},
		{"mcp subpackage imports mcp", pkg("mcp/internal/x", m+"/mcp"), ""},
		{"mcp imports store", pkg("mcp", m+"/store"), "(layer mcp) imports example.com/mesh/store"},
		{"mcp imports gin", pkg("mcp", "github.com/gin-gonic/gin"), "depends on github.com/gin-gonic/gin"},
		{"mcp depends on gin transitively", listedPackage{ImportPath: m + "/mcp", Deps: []string{"net/http", "github.com/gin-gonic/gin/render"}}, "depends on github.com/gin-gonic/gin/render"},
		{"store imports gin", pkg("store", ginPath), "only gateway and cmd may use Gin"},
		{"cluster imports store", pkg("cluster", m+"/store"), ""},
		{"cluster imports mcp", pkg("cluster", m+"/mcp"), "cluster may import only [store internal]"},
		{"cluster imports gin", pkg("cluster", ginPath), "depends on github.com/gin-gonic/gin"},
		{"gateway imports its allowed layers and gin", pkg("gateway", m+"/cluster", m+"/mcp", m+"/store/memstore", ginPath), ""},
		{"gateway imports cmd", pkg("gateway", m+"/cmd/mcpmesh"), "imports example.com/mesh/cmd/mcpmesh (layer cmd)"},
		{"gateway imports federation", pkg("gateway", m+"/federation", m+"/cluster"), ""},
		{"federation imports its allowed layers", pkg("federation", m+"/cluster", m+"/mcp", m+"/store", "github.com/golang-jwt/jwt/v5"), ""},
		{"federation test helpers import federation", pkg("federation/federationtest", m+"/federation"), ""},
		{"federation imports gateway", pkg("federation", m+"/gateway"), "federation may import only [api cluster mcp policy store]"},
		{"federation imports gin", pkg("federation", ginPath), "(layer federation) depends on github.com/gin-gonic/gin"},
		{"federation depends on gin transitively", listedPackage{ImportPath: m + "/federation", Deps: []string{"github.com/gin-gonic/gin"}}, "only gateway and cmd may use Gin"},
		{"federation imports cmd", pkg("federation", m+"/cmd/mcpmesh"), "(layer cmd)"},
		{"mcp imports federation", pkg("mcp", m+"/federation"), "(layer mcp) imports example.com/mesh/federation"},
		{"cluster imports federation", pkg("cluster", m+"/federation"), "cluster may import only [store internal]"},
		{"cmd imports anything", pkg("cmd/mcpmesh", m+"/gateway", m+"/cluster", m+"/mcp", m+"/store", ginPath), ""},
		{"api imports the standard library", pkg("api", "time", "encoding/json"), ""},
		{"api imports cluster", pkg("api", "time", m+"/cluster"), "api may import only []"},
		{"api imports a third-party module", pkg("api", "github.com/golang-jwt/jwt/v5"), "api may import only the standard library"},
		{"api imports gin", pkg("api", ginPath), "only gateway and cmd may use Gin"},
		{"gateway imports api", pkg("gateway", m+"/api", ginPath), ""},
		{"federation imports api", pkg("federation", m+"/api", m+"/cluster"), ""},
		{"cmd imports api", pkg("cmd/mcpmesh", m+"/api"), ""},
		{"cluster imports api", pkg("cluster", m+"/api"), "cluster may import only [store internal]"},
		{"mcp imports api", pkg("mcp", m+"/api"), "(layer mcp) imports example.com/mesh/api"},
		{"unknown layer", pkg("util/x", "fmt"), `layer "util" has no import rule`},
		{"internal imports the standard library", pkg("internal/wait", "fmt", "testing"), ""},
		{"internal imports cluster", pkg("internal/wait", m+"/cluster"), "internal may import only []"},
		{"internal imports a third-party module", pkg("internal/wait", "pgregory.net/rapid"), "internal may import only the standard library"},
		{"cluster test helpers import internal", pkg("cluster/clustertest", m+"/internal/wait", m+"/cluster"), ""},
		{"mcp imports internal", pkg("mcp", m+"/internal/wait"), "(layer mcp) imports example.com/mesh/internal/wait"},
		{"look-alike module is not ours", listedPackage{ImportPath: m + "-other/store", Imports: []string{m + "/mcp", ginPath}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(m, []listedPackage{tc.pkg})
			switch {
			case tc.want == "" && len(got) != 0:
				t.Fatalf("violations = %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Fatalf("violations = %q, want one containing %q", got, tc.want)
			}
		})
	}
}
