package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// detectSamples is how many rings each BenchmarkFailureDetection run kills.
const detectSamples = 5

// BenchmarkFailureDetection kills (Shutdown without Leave) one node of a
// 5-node ring on the default timings and reports the time until every
// survivor sees it dead (ms/detect, the mean of detectSamples kills per
// run), and the worst.
func BenchmarkFailureDetection(b *testing.B) {
	var total, worst time.Duration
	runs := 0
	for b.Loop() {
		for range detectSamples { // one kill is one noisy sample
			d := detectOnce(b)
			total += d
			worst = max(worst, d)
			runs++
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(runs), "ms/detect")
	b.ReportMetric(float64(worst.Milliseconds()), "ms-worst")
	b.ReportMetric(0, "ns/op")
}

// detectOnce runs one kill on a fresh ring.
func detectOnce(b *testing.B) time.Duration {
	nodes := clustertest.Ring(b, 5, clustertest.Options{Configure: func(_ int, c *cluster.Config) {
		c.Timings = cluster.DefaultTimings()
	}})
	victim := nodes[len(nodes)-1]
	rest := nodes[:len(nodes)-1]
	start := time.Now()
	if err := victim.Shutdown(); err != nil {
		b.Fatal(err)
	}
	for !clustertest.AllSee(rest, victim.Name(), cluster.StateDead) {
		if time.Since(start) > 30*time.Second {
			b.Fatalf("survivors did not see %s dead", victim.Name())
		}
		time.Sleep(2 * time.Millisecond)
	}
	d := time.Since(start)
	for _, n := range rest {
		_ = n.Shutdown()
	}
	return d
}

// BenchmarkRegistryPropagation writes one peer record on one node and
// reports the time until every node of the ring has it (ms/write).
func BenchmarkRegistryPropagation(b *testing.B) {
	for _, size := range []int{5, 50} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			nodes := clustertest.Ring(b, size, clustertest.Options{Configure: func(_ int, c *cluster.Config) {
				c.Timings = cluster.DefaultTimings()
			}})
			reportSpread(b, func(i int) time.Duration { return propagateOnce(b, nodes, i) })
		})
	}
}

// reportSpread runs once per op (it writes op i on one node and reports how
// long until every node holds it) and reports the mean (ms/write) and the
// worst time.
func reportSpread(b *testing.B, once func(i int) time.Duration) {
	var total, worst time.Duration
	runs := 0
	for b.Loop() {
		d := once(runs)
		total += d
		worst = max(worst, d)
		runs++
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(runs), "ms/write")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
	b.ReportMetric(0, "ns/op")
}

func propagateOnce(b *testing.B, nodes []*cluster.Node, i int) time.Duration {
	name := fmt.Sprintf("peer-%d", i%1000)
	writer := nodes[i%len(nodes)]
	start := time.Now()
	rec, err := writer.Registry().Put(cluster.PeerRecord{Name: name, Member: fmt.Sprintf("m-%d", i%1000),
		URL: "http://127.0.0.1:1", TrustLevel: cluster.TrustFull})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range nodes {
		for {
			got, ok := n.Registry().Get(name)
			if ok && got.Version == rec.Version {
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

// BenchmarkRejoinAfterRestart restarts a killed node of a 5-node ring on
// its store (same or new port, after the ring saw it dead, without Join)
// and reports the time until every other node has it alive at its new
// address (ms/rejoin): the member snapshot and rejoin loop at work.
func BenchmarkRejoinAfterRestart(b *testing.B) {
	for _, samePort := range []bool{true, false} {
		b.Run(fmt.Sprintf("same-port=%v", samePort), func(b *testing.B) {
			var total time.Duration
			runs := 0
			for b.Loop() {
				total += rejoinOnce(b, samePort)
				runs++
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(runs), "ms/rejoin")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func rejoinOnce(b *testing.B, samePort bool) time.Duration {
	st := memstore.New()
	nodes := clustertest.Ring(b, 5, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		c.Timings = cluster.DefaultTimings()
		if i == 4 {
			c.Store = st
		}
	}})
	addr, rest := nodes[4].GossipAddr(), nodes[:4]
	if err := nodes[4].Shutdown(); err != nil {
		b.Fatal(err)
	}
	wait.For(b, 15*time.Second, func() bool { return clustertest.AllSee(rest, "node-04", cluster.StateDead) }, "node-04 not seen dead")
	cfg := clustertest.Config("node-04", st)
	cfg.Timings = cluster.DefaultTimings()
	if samePort {
		cfg.BindAddr = addr
	}
	start := time.Now()
	back := clustertest.StartNode(b, cfg)
	wait.For(b, 30*time.Second, func() bool {
		for _, n := range rest {
			if m, _ := n.Member("node-04"); m.State != cluster.StateAlive || m.Addr != back.GossipAddr() {
				return false
			}
		}
		return true
	}, "node-04 not alive again everywhere")
	d := time.Since(start)
	for _, n := range append(rest, back) {
		_ = n.Shutdown()
	}
	return d
}
