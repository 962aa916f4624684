package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
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

// BenchmarkKillDetect kills one node of a ring of five real processes with
// SIGKILL and polls every survivor's /api/federation/members every 20 ms
// until each reports the victim dead. Per op it records the time until the
// last survivor (detect_ms; worst_ms the slowest op) and the first one
// (first_ms) saw it, and counts the answers that showed a survivor dead
// meanwhile (false_dead, a false positive of the failure detector). The
// victim is then restarted with the same name, data and gossip address and
// the ring is let settle; the four non-seed nodes take turns as victims.
func BenchmarkKillDetect(b *testing.B) {
	ring := benchKillRing(b)
	var total, first, worst time.Duration
	falseDead := 0
	for i := 0; i < b.N; i++ {
		victim := ring[1+i%(benchKillRingSize-1)] // the seed stays up
		last, soonest, wrong := benchKillOnce(b, ring, victim)
		total, first, worst, falseDead = total+last, first+soonest, max(worst, last), falseDead+wrong
		victim.node = benchStartMember(b, victim.name, victim.gossip, victim.join, victim.dataDir)
		benchWaitAlive(b, ring)
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "detect_ms")
	b.ReportMetric(float64(first.Microseconds())/1e3/float64(b.N), "first_ms")
	b.ReportMetric(float64(worst.Microseconds())/1e3, "worst_ms")
	b.ReportMetric(float64(falseDead), "false_dead")
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
	extra := []string{"--gossip", gossip, "--log-level", "warn"}
	if join != "" {
		extra = append(extra, "--join", join)
	}
	return startNode(b, nodeOptions{name: name, dataDir: dataDir, extra: extra})
}

// benchWaitAlive waits until every node of ring sees every node alive.
func benchWaitAlive(b *testing.B, ring []*benchMember) {
	b.StopTimer()
	defer b.StartTimer()
	eventually(b, benchRingTimeout, "every node seeing the whole ring alive", func() bool {
		for _, m := range ring {
			states, err := benchMemberStates(m.node)
			if err != nil || len(states) != len(ring) {
				return false
			}
			for _, st := range states {
				if st != "alive" {
					return false
				}
			}
		}
		return true
	})
}

// benchKillOnce kills victim and returns when the last and the first
// survivor saw it dead, and how many answers showed a survivor dead.
func benchKillOnce(b *testing.B, ring []*benchMember, victim *benchMember) (last, first time.Duration, falseDead int) {
	var survivors []*node
	for _, m := range ring {
		if m != victim {
			survivors = append(survivors, m.node)
		}
	}
	seen := make([]time.Duration, len(survivors))
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
			seen[i], wrong[i], errs[i] = benchWatchDeath(s, victim.name, start)
		}()
	}
	wg.Wait()
	<-victim.proc.done
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return slices.Max(seen), slices.Min(seen), benchSum(wrong)
}

// benchWatchDeath polls n's members every benchKillPoll until victim is
// dead there; it counts other members reported dead on the way.
func benchWatchDeath(n *node, victim string, start time.Time) (time.Duration, int, error) {
	tick := time.NewTicker(benchKillPoll)
	defer tick.Stop()
	wrong := 0
	for ; ; <-tick.C {
		states, err := benchMemberStates(n)
		if err != nil {
			return 0, wrong, err
		}
		if states[victim] == "dead" {
			return time.Since(start), wrong, nil
		}
		for name, st := range states {
			if name != victim && st == "dead" {
				wrong++
			}
		}
		if time.Since(start) > benchRingTimeout {
			return 0, wrong, fmt.Errorf("%s did not report %s dead within %v: %v", n.name, victim, benchRingTimeout, states)
		}
	}
}

// benchMemberStates is n's GET /api/federation/members as name → status.
func benchMemberStates(n *node) (map[string]string, error) {
	req, err := http.NewRequest(http.MethodGet, n.url+"/api/federation/members", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", n.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var members []struct{ Name, Status string }
	if err == nil {
		err = json.Unmarshal(raw, &members)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("members of %s: status %d, body %s: %v", n.name, resp.StatusCode, raw, err)
	}
	states := map[string]string{}
	for _, m := range members {
		states[m.Name] = m.Status
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
