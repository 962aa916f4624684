// Package clustertest starts in-process cluster rings for tests: nodes on
// 127.0.0.1 with free ports and the test timing profile, each on its own
// store, stopped by t.Cleanup; and waits on them (WaitAllAlive,
// WaitConverged) built on internal/wait, the tests' one polling helper.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// Key is the gossip key of test rings.
var Key = cluster.DeriveKey([]byte("clustertest secret, not for production use"))

// Options adjusts Ring.
type Options struct {
	// Badger puts each node on a Badger store in t.TempDir (default: memstore).
	Badger bool
	// Configure, when set, has the last word on node i's config.
	Configure func(i int, c *cluster.Config)
}

// Logger returns the logger of test nodes: silent, unless the environment
// sets CLUSTERTEST_LOG=debug|info|warn (to stderr).
func Logger() *slog.Logger {
	var level slog.Level
	if level.UnmarshalText([]byte(os.Getenv("CLUSTERTEST_LOG"))) != nil || os.Getenv("CLUSTERTEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Config returns a test-profile config for a node named name on a free
// loopback port, on store st.
func Config(name string, st store.Store) cluster.Config {
	return cluster.Config{
		Name:      name,
		BindAddr:  "127.0.0.1:0",
		SecretKey: Key,
		Store:     st,
		Logger:    Logger().With("test_node", name),
		Meta:      cluster.NodeMeta{URL: "http://127.0.0.1:1/" + name, Version: "test"},
		Timings:   cluster.TestTimings(),
	}
}

// NewStore returns a memstore, or a Badger store in a fresh t.TempDir,
// closed by t.Cleanup.
func NewStore(t testing.TB, badger bool) store.Store {
	t.Helper()
	if !badger {
		return memstore.New()
	}
	return OpenBadger(t, t.TempDir())
}

// OpenBadger opens the Badger store in dir, closed by t.Cleanup.
func OpenBadger(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := badgerstore.Open(filepath.Clean(dir), badgerstore.Options{})
	if err != nil {
		t.Fatalf("open badger store in %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// StartNode starts a node with cfg; t.Cleanup shuts it down.
func StartNode(t testing.TB, cfg cluster.Config) *cluster.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := cluster.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start node %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// Ring starts size nodes named node-00, node-01, ..., joins each to the
// first, and waits until every node sees every other alive.
func Ring(t testing.TB, size int, opts Options) []*cluster.Node {
	t.Helper()
	nodes := make([]*cluster.Node, size)
	for i := range nodes {
		cfg := Config(fmt.Sprintf("node-%02d", i), NewStore(t, opts.Badger))
		if opts.Configure != nil {
			opts.Configure(i, &cfg)
		}
		nodes[i] = StartNode(t, cfg)
		if i > 0 {
			if _, err := nodes[i].Join([]string{nodes[0].GossipAddr()}); err != nil {
				t.Fatalf("join %s to %s: %v", cfg.Name, nodes[0].Name(), err)
			}
		}
	}
	WaitAllAlive(t, nodes, 10*time.Second+time.Duration(size)*200*time.Millisecond)
	return nodes
}

// StateOf returns the state of member name as n sees it ("" if unknown).
func StateOf(n *cluster.Node, name string) string {
	m, _ := n.Member(name)
	return m.State
}

// AllSee reports whether every node of nodes sees member name in state.
func AllSee(nodes []*cluster.Node, name, state string) bool {
	for _, n := range nodes {
		if StateOf(n, name) != state {
			return false
		}
	}
	return true
}

// WaitAllAlive waits until every node sees every node of nodes alive.
func WaitAllAlive(t testing.TB, nodes []*cluster.Node, timeout time.Duration) {
	t.Helper()
	var missing string
	wait.For(t, timeout, func() bool { missing = notAlive(nodes); return missing == "" },
		"not every one of %d nodes sees every other alive: %s", len(nodes), wait.Later(func() any { return missing }))
}

// notAlive names one node that does not see another alive, or is "".
func notAlive(nodes []*cluster.Node) string {
	for _, n := range nodes {
		for _, o := range nodes {
			if s := StateOf(n, o.Name()); s != cluster.StateAlive {
				return fmt.Sprintf("%s sees %s %q (it has %d members)", n.Name(), o.Name(), s, len(n.Members()))
			}
		}
	}
	return ""
}

// Converged reports whether every node's registry has the same digest.
func Converged(nodes []*cluster.Node) bool {
	for _, n := range nodes[1:] {
		if n.Registry().Digest() != nodes[0].Registry().Digest() {
			return false
		}
	}
	return true
}

// WaitConverged waits until every node's registry has the same digest.
func WaitConverged(t testing.TB, nodes []*cluster.Node, timeout time.Duration) {
	t.Helper()
	wait.For(t, timeout, func() bool { return Converged(nodes) }, "registries of %d nodes did not converge", len(nodes))
}
