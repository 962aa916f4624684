package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// benchKillRingSize is the number of processes of the failure-detection ring.
const benchKillRingSize = 5

// benchKillPoll is how often each survivor is asked for its members.
const benchKillPoll = 20 * time.Millisecond

// benchMember is one process of the ring and how to restart it.
type benchMember struct {
	*node
	gossip string // fixed, so a restart comes back at the same address
	join   string
}

// BenchmarkKillDetect kills one node of a ring of five real processes
// (each the others' peer, --auto-trust full) with SIGKILL and polls every
// survivor's /api/federation/members and /peers every 20 ms until each
// reports the victim dead (gossip) and its peer offline. Per op it records
// the time until the last survivor (detect_ms; worst_ms the slowest op) and
// the first one (first_ms) saw it dead, until the last reported its peer
// offline (offline_ms; offline_worst_ms), and counts the answers that
// showed a survivor dead meanwhile (false_dead, a false positive of the
// failure detector). The
// victim is then restarted with the same name, data and gossip address and
// the ring is let settle; the four non-seed nodes take turns as victims.
func BenchmarkKillDetect(b *testing.B) {
	ring := benchKillRing(b)
	var total, first, worst, offline, offlineWorst time.Duration
	falseDead := 0
	for i := 0; i < b.N; i++ {
		victim := ring[1+i%(benchKillRingSize-1)] // the seed stays up
		last, soonest, off, wrong := benchKillOnce(b, ring, victim)
		total, first, worst, falseDead = total+last, first+soonest, max(worst, last), falseDead+wrong
		offline, offlineWorst = offline+off, max(offlineWorst, off)
		victim.node = benchStartMember(b, victim.name, victim.gossip, victim.join, victim.dataDir)
		benchWaitAlive(b, ring)
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "detect_ms")
	b.ReportMetric(float64(first.Microseconds())/1e3/float64(b.N), "first_ms")
	b.ReportMetric(float64(worst.Microseconds())/1e3, "worst_ms")
	b.ReportMetric(float64(falseDead), "false_dead")
	b.ReportMetric(float64(offline.Microseconds())/1e3/float64(b.N), "offline_ms")
	b.ReportMetric(float64(offlineWorst.Microseconds())/1e3, "offline_worst_ms")
	b.ReportMetric(0, "ns/op")
}

// benchKillRing starts the seed, then four nodes joining it by URL, and
// waits until every node sees five alive members.
func benchKillRing(b *testing.B) []*benchMember {
	b.StopTimer()
	defer b.StartTimer()
	ring := make([]*benchMember, benchKillRingSize)
	for i := range ring {
		m := &benchMember{gossip: freeAddr(b)}
		if i > 0 {
			m.join = ring[0].url
		}
		m.node = benchStartMember(b, fmt.Sprintf("kill-%d", i), m.gossip, m.join, b.TempDir())
		ring[i] = m
	}
	benchWaitAlive(b, ring)
	return ring
}

func benchStartMember(b *testing.B, name, gossip, join, dataDir string) *node {
	extra := []string{"--gossip", gossip, "--log-level", "warn", "--auto-trust", "full"}
	if join != "" {
		extra = append(extra, "--join", join)
	}
	return startNode(b, nodeOptions{name: name, dataDir: dataDir, extra: extra})
}

// benchWaitAlive waits until every node of ring sees every node alive.
func benchWaitAlive(b *testing.B, ring []*benchMember) {
	b.StopTimer()
	defer b.StartTimer()
	wait.For(b, benchRingTimeout, func() bool {
		for _, m := range ring {
			states, err := benchMemberStates(m.node)
			peers, perr := benchStates(m.node, "/api/federation/peers")
			if err != nil || perr != nil || len(states) != len(ring) || len(peers) != len(ring)-1 {
				return false
			}
			for _, st := range append(slices.Collect(maps.Values(states)), slices.Collect(maps.Values(peers))...) {
				if st != "alive" && st != "online" {
					return false
				}
			}
		}
		return true
	}, "waiting for every node seeing the whole ring alive")
}

// benchKillOnce kills victim and returns when the last and the first
// survivor saw it dead, and how many answers showed a survivor dead.
func benchKillOnce(b *testing.B, ring []*benchMember, victim *benchMember) (last, first, offline time.Duration, falseDead int) {
	var survivors []*node
	for _, m := range ring {
		if m != victim {
			survivors = append(survivors, m.node)
		}
	}
	seen := make([]time.Duration, len(survivors))
	off := make([]time.Duration, len(survivors))
	wrong := make([]int, len(survivors))
	errs := make([]error, len(survivors))
	start := time.Now()
	if err := victim.proc.cmd.Process.Kill(); err != nil {
		b.Fatalf("kill -9 %s: %v", victim.name, err)
	}
	var wg sync.WaitGroup
	for i, s := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen[i], off[i], wrong[i], errs[i] = benchWatchDeath(s, victim.name, start)
		}()
	}
	wg.Wait()
	<-victim.proc.done
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return slices.Max(seen), slices.Min(seen), slices.Max(off), benchSum(wrong)
}

// benchWatchDeath polls n's members and peers every benchKillPoll until
// victim is dead there and its peer (auto-trusted, named after it)
// offline; it counts other members reported dead on the way.
func benchWatchDeath(n *node, victim string, start time.Time) (dead, offline time.Duration, wrong int, err error) {
	tick := time.NewTicker(benchKillPoll)
	defer tick.Stop()
	for ; dead == 0 || offline == 0; <-tick.C {
		states, err := benchMemberStates(n)
		if err != nil {
			return 0, 0, wrong, err
		}
		peers, err := benchStates(n, "/api/federation/peers")
		if err != nil {
			return 0, 0, wrong, err
		}
		if dead == 0 && states[victim] == "dead" {
			dead = time.Since(start)
		}
		if offline == 0 && peers[victim] == "offline" {
			offline = time.Since(start)
		}
		for name, st := range states {
			if name != victim && st == "dead" {
				wrong++
			}
		}
		if time.Since(start) > benchRingTimeout {
			return 0, 0, wrong, fmt.Errorf("%s did not report %s dead and offline within %v: %v %v", n.name, victim, benchRingTimeout, states, peers)
		}
	}
	return dead, offline, wrong, nil
}

// benchMemberStates is n's GET /api/federation/members as name → status.
func benchMemberStates(n *node) (map[string]string, error) {
	return benchStates(n, "/api/federation/members")
}

// benchStates is n's answer to GET path (members or peers) as name →
// status.
func benchStates(n *node, path string) (map[string]string, error) {
	req, err := http.NewRequest(http.MethodGet, n.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", path, n.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var entries []struct{ Name, Status string }
	if err == nil {
		err = json.Unmarshal(raw, &entries)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s of %s: status %d, body %s: %v", path, n.name, resp.StatusCode, raw, err)
	}
	states := map[string]string{}
	for _, e := range entries {
		states[e.Name] = e.Status
	}
	return states, nil
}

func benchSum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
