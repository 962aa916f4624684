package cluster

import (
	"fmt"
	"time"
)

// Timings holds every timing and gossip tuning knob of a Node in one place.
// A zero field takes the value of [DefaultTimings].
//
// Failure detection, as memberlist computes it: each node probes one member
// per ProbeInterval (ack within ProbeTimeout, else indirect probes through
// IndirectChecks others and a TCP fallback until the interval ends). A member
// nobody can reach becomes suspect; it is declared dead when a suspicion
// timer of SuspicionMult × max(1, log10(n)) × ProbeInterval expires, a timer
// that starts at SuspicionMaxTimeoutMult times that and shrinks as other
// members confirm the suspicion (Lifeguard).
type Timings struct {
	ProbeInterval           time.Duration // how often each node probes one member
	ProbeTimeout            time.Duration // wait for a direct ack before indirect probes
	IndirectChecks          int           // members asked to probe indirectly
	SuspicionMult           int           // suspicion timeout multiplier (see above)
	SuspicionMaxTimeoutMult int           // upper bound of the timeout, as a multiple of the minimum
	GossipInterval          time.Duration // how often gossip (broadcasts) is sent
	GossipNodes             int           // members gossiped to per interval
	RetransmitMult          int           // a broadcast is sent RetransmitMult × ceil(log10(n+1)) times
	PushPullInterval        time.Duration // full-state anti-entropy with one random member
	TCPTimeout              time.Duration // push-pull, join and TCP probe fallback
	GossipToTheDeadTime     time.Duration // keep gossiping to dead members (lets partitions heal)
	DeadNodeReclaimTime     time.Duration // a dead member's name may come back at a new address after this
	LeaveTimeout            time.Duration // Close: bound on announcing the leave
	RejoinInterval          time.Duration // retry persisted and dead members' addresses (negative: never)
	MaintenanceInterval     time.Duration // suspicion expiry, reaping, tombstone GC
	ReconnectTimeout        time.Duration // a dead member is forgotten (reaped) after this
	LeftTimeout             time.Duration // a member that left is forgotten after this
	TombstoneTTL            time.Duration // registry tombstones are collected after this (negative: never)
	MaxClockSkew            time.Duration // registry versions further in the future are refused
}

// DefaultTimings is the profile of a real ring on a LAN or loopback:
// memberlist's LAN preset with a faster probe (400 ms, ack within 250 ms), a
// suspicion of 2 × max(1, log10(n)) probe intervals (0.8 s below ten nodes)
// and four retransmissions. With SuspicionMult 2 memberlist expects no
// confirmations, so the suspicion timeout is its minimum at once: a node
// killed in a ring of five is seen dead by every survivor in about 1.6 s
// (worst seen 2.3 s, BenchmarkFailureDetection). A suspected member that
// is alive refutes within a few gossip rounds (~0.3 s), which leaves margin
// on a loaded 2-core machine; Lifeguard's awareness still stretches probe
// timeouts on a node that is itself slow. Push-pull runs every 5 s (scaled
// up by memberlist beyond 32 nodes) rather than 30 s: gossip is epidemic,
// so in a large ring an occasional member misses a broadcast (a join, a
// registry write) and anti-entropy is what repairs it.
func DefaultTimings() Timings {
	return Timings{
		ProbeInterval:           400 * time.Millisecond,
		ProbeTimeout:            250 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           2,
		SuspicionMaxTimeoutMult: 3,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          4,
		PushPullInterval:        5 * time.Second,
		TCPTimeout:              2 * time.Second,
		GossipToTheDeadTime:     30 * time.Second,
		DeadNodeReclaimTime:     time.Second,
		LeaveTimeout:            3 * time.Second,
		RejoinInterval:          3 * time.Second,
		MaintenanceInterval:     250 * time.Millisecond,
		ReconnectTimeout:        72 * time.Hour,
		LeftTimeout:             24 * time.Hour,
		TombstoneTTL:            7 * 24 * time.Hour,
		MaxClockSkew:            time.Minute,
	}
}

// TestTimings is the profile of in-process rings in tests, where up to 50
// nodes share one process, two cores and the race detector: a slower, more
// tolerant failure detector (500 ms probes, Lifeguard suspicion of 1.5 s to
// 6 s, detection in about 2.5 s), so that scheduling stalls do not turn into
// false failures, and fast anti-entropy, rejoin and reclaim so that restart
// and partition tests finish in seconds.
func TestTimings() Timings {
	t := DefaultTimings()
	t.ProbeInterval = 500 * time.Millisecond
	t.ProbeTimeout = 250 * time.Millisecond
	t.SuspicionMult = 3
	t.SuspicionMaxTimeoutMult = 4
	t.PushPullInterval = 2 * time.Second
	t.TCPTimeout = time.Second
	t.GossipToTheDeadTime = 5 * time.Second
	t.DeadNodeReclaimTime = 200 * time.Millisecond
	t.LeaveTimeout = 2 * time.Second
	t.RejoinInterval = 300 * time.Millisecond
	t.MaintenanceInterval = 50 * time.Millisecond
	return t
}

// withDefaults returns t with every zero field set from DefaultTimings.
func (t Timings) withDefaults() Timings {
	d := DefaultTimings()
	durs := []struct{ v, d *time.Duration }{
		{&t.ProbeInterval, &d.ProbeInterval}, {&t.ProbeTimeout, &d.ProbeTimeout},
		{&t.GossipInterval, &d.GossipInterval}, {&t.PushPullInterval, &d.PushPullInterval},
		{&t.TCPTimeout, &d.TCPTimeout}, {&t.GossipToTheDeadTime, &d.GossipToTheDeadTime},
		{&t.DeadNodeReclaimTime, &d.DeadNodeReclaimTime}, {&t.LeaveTimeout, &d.LeaveTimeout},
		{&t.RejoinInterval, &d.RejoinInterval}, {&t.MaintenanceInterval, &d.MaintenanceInterval},
		{&t.ReconnectTimeout, &d.ReconnectTimeout}, {&t.LeftTimeout, &d.LeftTimeout},
		{&t.TombstoneTTL, &d.TombstoneTTL}, {&t.MaxClockSkew, &d.MaxClockSkew},
	}
	for _, f := range durs {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	ints := []struct{ v, d *int }{
		{&t.IndirectChecks, &d.IndirectChecks}, {&t.SuspicionMult, &d.SuspicionMult},
		{&t.SuspicionMaxTimeoutMult, &d.SuspicionMaxTimeoutMult}, {&t.GossipNodes, &d.GossipNodes},
		{&t.RetransmitMult, &d.RetransmitMult},
	}
	for _, f := range ints {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return t
}

// validate refuses timings memberlist would misbehave with.
func (t Timings) validate() error {
	switch {
	case t.ProbeInterval < 0 || t.ProbeTimeout < 0 || t.GossipInterval < 0 || t.TCPTimeout < 0:
		return fmt.Errorf("timings: durations must not be negative")
	case t.ProbeTimeout >= t.ProbeInterval:
		return fmt.Errorf("timings: probe timeout %v must be shorter than the probe interval %v", t.ProbeTimeout, t.ProbeInterval)
	case t.RetransmitMult < 1 || t.SuspicionMult < 1 || t.SuspicionMaxTimeoutMult < 1 || t.GossipNodes < 1:
		return fmt.Errorf("timings: multipliers and gossip nodes must be at least 1")
	case t.MaintenanceInterval < 0 || t.PushPullInterval < 0 || t.MaxClockSkew < 0:
		return fmt.Errorf("timings: durations must not be negative")
	}
	return nil
}

// suspectWindow bounds how long memberlist can keep a member of an n-node
// ring suspect before declaring it dead: past it, a suspect member that was
// not declared dead has refuted the suspicion.
func (t Timings) suspectWindow(n int) time.Duration {
	scale := 1.0
	for m := n; m >= 10; m /= 10 { // max(1, floor-ish log10(n)); a bound, not exact
		scale++
	}
	min := time.Duration(float64(t.SuspicionMult) * scale * float64(t.ProbeInterval))
	return time.Duration(t.SuspicionMaxTimeoutMult)*min + 2*t.ProbeInterval
}
