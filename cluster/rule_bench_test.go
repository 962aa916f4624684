package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
)

// BenchmarkRuleSpread writes one access rule on one node of a 5-node ring
// (default timings) and reports the time until every node holds it
// (ms/write, the spread time of a rule), and the worst.
func BenchmarkRuleSpread(b *testing.B) {
	nodes := clustertest.Ring(b, 5, clustertest.Options{Configure: func(_ int, c *cluster.Config) {
		c.Timings = cluster.DefaultTimings()
	}})
	reportSpread(b, func(i int) time.Duration { return spreadRuleOnce(b, nodes, i) })
}

func spreadRuleOnce(b *testing.B, nodes []*cluster.Node, i int) time.Duration {
	name := fmt.Sprintf("rule-%d", i%1000)
	start := time.Now()
	rec, err := nodes[i%len(nodes)].Rules().Add(cluster.RuleRecord{Name: name, Effect: "allow",
		Principals: []string{"group:bench"}, Tools: []string{fmt.Sprintf("p%d__*", i)}})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range nodes {
		for {
			if got, ok := n.Rules().Get(name); ok && got.Version == rec.Version {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("%s never got %s", n.Name(), name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return time.Since(start)
}
