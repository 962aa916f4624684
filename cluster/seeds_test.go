package cluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

func TestParseSeed(t *testing.T) {
	good := map[string]cluster.Seed{
		"127.0.0.1:9000":                    {Host: "127.0.0.1", Port: 9000},
		"[::1]:9000":                        {Host: "::1", Port: 9000},
		"node-1.example.com:7946":           {Host: "node-1.example.com", Port: 7946},
		"dns:mcpmesh-gossip":                {Host: "mcpmesh-gossip", DNS: true},
		"dns:svc.ns.svc.cluster.local:7946": {Host: "svc.ns.svc.cluster.local", Port: 7946, DNS: true},
		"dns:localhost:9001":                {Host: "localhost", Port: 9001, DNS: true},
	}
	for in, want := range good {
		t.Run(in, func(t *testing.T) {
			got, err := cluster.ParseSeed(in)
			if err != nil || got != want {
				t.Fatalf("ParseSeed(%q) = %+v, %v; want %+v", in, got, err, want)
			}
			if got.String() != in {
				t.Fatalf("String() = %q, want %q", got.String(), in)
			}
		})
	}
	bad := map[string]string{
		"foo bar":            "not host:port",
		"foo bar:9000":       "neither an IP address nor a host name",
		"127.0.0.1":          "missing port",
		"127.0.0.1:0":        "from 1 to 65535",
		"127.0.0.1:70000":    "from 1 to 65535",
		"127.0.0.1:http":     "from 1 to 65535",
		":9000":              "host name is empty",
		"dns:":               "host name is empty",
		"dns::9000":          "host name is empty",
		"dns:svc:":           "port is empty",
		"dns:svc:x":          "from 1 to 65535",
		"dns:bad_name!:9000": "neither an IP address nor a host name",
	}
	for in, want := range bad {
		t.Run(in, func(t *testing.T) {
			if _, err := cluster.ParseSeed(in); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("ParseSeed(%q) error = %v, want one saying %q", in, err, want)
			}
		})
	}
}

// fakeResolver answers from a map that a test may change.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
}

func (r *fakeResolver) set(host string, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[host] = ips
}

func (r *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ips, ok := r.hosts[host]; ok {
		return ips, nil
	}
	return nil, errors.New("no such host")
}

func TestResolveSeeds(t *testing.T) {
	r := &fakeResolver{hosts: map[string][]string{"svc": {"10.0.0.1", "fd00::1"}}}
	seeds := []cluster.Seed{{Host: "svc", DNS: true}, {Host: "svc", Port: 7000, DNS: true}, {Host: "h", Port: 1}, {Host: "gone", DNS: true}}
	got, err := cluster.ResolveSeeds(context.Background(), r, seeds, 7946)
	want := []string{"10.0.0.1:7946", "[fd00::1]:7946", "10.0.0.1:7000", "[fd00::1]:7000", "h:1"}
	if !slices.Equal(got, want) {
		t.Fatalf("ResolveSeeds = %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "dns:gone") {
		t.Fatalf("error = %v, want one naming dns:gone", err)
	}
}

// TestDNSSeedLookedUpEveryRound: a node given a dns: seed whose name does
// not resolve yet joins the ring on a later rejoin round, once it does.
func TestDNSSeedLookedUpEveryRound(t *testing.T) {
	a := clustertest.StartNode(t, clustertest.Config("a", clustertest.NewStore(t, false)))
	r := &fakeResolver{hosts: map[string][]string{}}
	cfg := clustertest.Config("b", clustertest.NewStore(t, false))
	cfg.Resolver = r
	b := clustertest.StartNode(t, cfg)
	port := a.GossipAddr()[strings.LastIndex(a.GossipAddr(), ":")+1:]
	seed, err := cluster.ParseSeed("dns:ring.test:" + port)
	if err != nil {
		t.Fatal(err)
	}
	b.SetSeeds(1, []cluster.Seed{seed})
	if st := b.SeedStatus(); !st.Given || !st.Answered.IsZero() {
		t.Fatalf("before any answer, SeedStatus = %+v", st)
	}
	r.set("ring.test", "127.0.0.1")
	clustertest.WaitAllAlive(t, []*cluster.Node{a, b}, 10*time.Second)
	wait.For(t, 10*time.Second, func() bool { return !b.SeedStatus().Answered.IsZero() }, "the seed's answer to be noted")
}

// TestJoinSeedsNotes: a seed refusing this node's gossip key is noted as
// such; this node's own address as a seed makes it the first of its ring.
func TestJoinSeedsNotes(t *testing.T) {
	a := clustertest.StartNode(t, clustertest.Config("a", clustertest.NewStore(t, false)))
	cfg := clustertest.Config("stale", clustertest.NewStore(t, false))
	cfg.SecretKey = cluster.DeriveKey([]byte("another secret"))
	stale := clustertest.StartNode(t, cfg)
	if k, err := stale.JoinSeeds([]string{a.GossipAddr()}); k != 0 || err == nil {
		t.Fatalf("JoinSeeds with the wrong key = %d, %v; want 0 and an error", k, err)
	}
	if st := stale.SeedStatus(); st.KeyRefused == nil || !st.Answered.IsZero() || st.Self {
		t.Fatalf("after a refused key, SeedStatus = %+v", st)
	}
	if k, err := stale.JoinSeeds([]string{stale.GossipAddr(), a.GossipAddr()}); k != 0 || err == nil {
		t.Fatalf("JoinSeeds with itself = %d, %v; want 0 (itself is not counted) and the refusal", k, err)
	}
	if st := stale.SeedStatus(); st.KeyRefused == nil || st.Answered.IsZero() || !st.Self {
		t.Fatalf("with itself as a seed beside one refusing its key, SeedStatus = %+v (the refusal stays)", st)
	}
}
