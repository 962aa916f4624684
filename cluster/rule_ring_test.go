package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

func ruleRec(name, effect string, tools ...string) cluster.RuleRecord {
	return cluster.RuleRecord{Name: name, Effect: effect, Principals: []string{"group:team-a"}, Tools: tools}
}

// rulesAgree reports whether every node holds the same rules, and names.
func rulesAgree(nodes []*cluster.Node, names ...string) bool {
	d := nodes[0].Rules().Digest()
	for _, n := range nodes {
		if n.Rules().Digest() != d {
			return false
		}
		for _, name := range names {
			if _, ok := n.Rules().Get(name); !ok {
				return false
			}
		}
	}
	return true
}

// TestRulesSpreadOnTheRing: rules written, changed and deleted on any node
// hold on every node of a real ring, and a rule too big for one gossip
// packet (many globs) still spreads, by push-pull.
func TestRulesSpreadOnTheRing(t *testing.T) {
	nodes := clustertest.Ring(t, 5, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		c.Timings.PushPullInterval = 300 * time.Millisecond
	}})
	if _, err := nodes[1].Rules().Add(ruleRec("team-a", "allow", "a__*")); err != nil {
		t.Fatal(err)
	}
	big := make([]string, 200)
	for i := range big {
		big[i] = fmt.Sprintf("some-long-prefix-%03d__*", i)
	}
	if _, err := nodes[3].Rules().Add(ruleRec("big", "allow", big...)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, func() bool { return rulesAgree(nodes, "team-a", "big") }, "rules did not reach every node")
	if _, err := nodes[4].Rules().Update("team-a", func(r *cluster.RuleRecord) error { r.Effect = "deny"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].Rules().Delete("big"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, func() bool {
		for _, n := range nodes {
			r, ok := n.Rules().Get("team-a")
			if _, big := n.Rules().Get("big"); !ok || r.Effect != "deny" || big {
				return false
			}
		}
		return rulesAgree(nodes)
	}, "the change and the delete did not reach every node")
}

// TestRulesBroadcast: with push-pull all but off, a rule written on one
// node reaches every node by broadcast alone (its message type apart from
// every other gossip message's).
func TestRulesBroadcast(t *testing.T) {
	nodes := clustertest.Ring(t, 5, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		c.Timings.PushPullInterval = time.Hour
	}})
	for i, n := range nodes {
		if _, err := n.Rules().Add(ruleRec(fmt.Sprintf("r%d", i), "allow", "a__*")); err != nil {
			t.Fatal(err)
		}
	}
	wait.For(t, 15*time.Second, func() bool { return rulesAgree(nodes, "r0", "r1", "r2", "r3", "r4") },
		"rules did not reach every node by broadcast")
}

// TestRulesHealAfterPartition: a ring of five split 3|2 (each side cut off
// from the other) writes rules on both sides — one of the same name on
// each — and, once healed, every node holds the same rules, the later write
// of the contested name winning everywhere.
func TestRulesHealAfterPartition(t *testing.T) {
	nodes := clustertest.Ring(t, 5, clustertest.Options{})
	left, right := nodes[:3], nodes[3:]
	split(left, right)
	for _, n := range right {
		wait.For(t, 20*time.Second, func() bool { return clustertest.AllSee(left, n.Name(), cluster.StateDead) },
			"the left side to see %s dead", n.Name())
	}
	if _, err := left[0].Rules().Add(ruleRec("left-only", "allow", "a__*")); err != nil {
		t.Fatal(err)
	}
	if _, err := right[1].Rules().Add(ruleRec("right-only", "deny", "b__*")); err != nil {
		t.Fatal(err)
	}
	earlier, err := left[2].Rules().Add(ruleRec("contested", "allow", "x"))
	if err != nil {
		t.Fatal(err)
	}
	later, err := right[0].Rules().Add(ruleRec("contested", "deny", "y"))
	if err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool { return rulesAgree(left, "left-only") && rulesAgree(right, "right-only") },
		"each side did not agree on its own rules")
	if _, crossed := right[0].Rules().Get("left-only"); crossed {
		t.Fatal("a rule crossed the split")
	}
	heal(nodes)
	wait.For(t, 40*time.Second, func() bool { return rulesAgree(nodes, "left-only", "right-only", "contested") },
		"the two sides did not heal to the same rules")
	want := later
	if earlier.Version.Compare(later.Version) > 0 {
		want = earlier
	}
	for _, n := range nodes {
		if r, _ := n.Rules().Get("contested"); r.Version != want.Version || r.Writer != want.Writer {
			t.Errorf("%s kept contested version %s by %s, want the later write %s by %s", n.Name(), r.Version, r.Writer, want.Version, want.Writer)
		}
	}
}

// split cuts every gossip link between sides a and b.
func split(a, b []*cluster.Node) {
	addrs := func(ns []*cluster.Node) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.GossipAddr())
		}
		return out
	}
	for _, n := range a {
		cluster.CutGossip(n, addrs(b))
	}
	for _, n := range b {
		cluster.CutGossip(n, addrs(a))
	}
}

// heal restores every cut link.
func heal(nodes []*cluster.Node) {
	for _, n := range nodes {
		cluster.CutGossip(n, nil)
	}
}

// TestRuleRegistryPersists: rules written and deleted survive a reopen of
// the store; a tombstone stays a tombstone.
func TestRuleRegistryPersists(t *testing.T) {
	dir := t.TempDir()
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cluster.NewRuleRegistry("n1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"keep", "gone"} {
		if _, err := r.Add(cluster.RuleRecord{Name: name, Effect: "allow", Principals: []string{"*"}, Tools: []string{"*"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Add(cluster.RuleRecord{Name: "keep", Effect: "deny"}); err == nil {
		t.Fatal("a second rule named keep was accepted")
	}
	if err := r.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st2.Close() })
	again, err := cluster.NewRuleRegistry("n1", st2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.List(); len(got) != 1 || got[0].Name != "keep" || len(again.All()) != 2 || again.Digest() != r.Digest() {
		t.Fatalf("reopened: live %v, all %v", got, again.All())
	}
}

// TestRulesSurviveRestart: a rule a node learned from the ring is in its
// Badger store, so the node restarted on that store holds it before it
// meets anyone.
func TestRulesSurviveRestart(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	st := clustertest.NewStore(t, true)
	n := clustertest.StartNode(t, clustertest.Config("node-r", st))
	if _, err := n.Join([]string{nodes[0].GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].Rules().Add(ruleRec("team-a", "allow", "a__*")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool {
		_, err := st.Get("rules/team-a")
		return err == nil
	}, "node-r to persist the rule it learned")
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	cfg := clustertest.Config("node-r", st)
	cfg.BindAddr = "127.0.0.1:0"
	again := clustertest.StartNode(t, cfg)
	if r, ok := again.Rules().Get("team-a"); !ok || r.Writer != nodes[1].Name() {
		t.Fatalf("restarted node-r holds %+v (%v), want team-a by %s", r, ok, nodes[1].Name())
	}
}
