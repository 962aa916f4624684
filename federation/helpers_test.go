package federation

import (
	"log/slog"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// startEngine starts an engine on a new ring node called name, on st, with
// the demo tools in its local catalog; t.Cleanup closes both. Nothing
// serves it over HTTP: that is the gateway's (its tests run rings of whole
// nodes).
func startEngine(t *testing.T, name string, st store.Store) *Engine {
	t.Helper()
	node := clustertest.StartNode(t, clustertest.Config(name, st))
	cat := mcp.NewCatalog(name, slog.New(slog.DiscardHandler))
	if err := cat.Add("demo", "", mcp.NewDemo(name)); err != nil {
		t.Fatal(err)
	}
	f := New(Config{Node: node, Local: cat, Secret: []byte(testSecret), Store: st, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(f.Close)
	return f
}

// parseNodeToken checks tok's signature with testSecret and returns its
// claims.
func parseNodeToken(t *testing.T, tok string) *nodeClaims {
	t.Helper()
	var c nodeClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatalf("node token %q: %v", tok, err)
	}
	return &c
}
