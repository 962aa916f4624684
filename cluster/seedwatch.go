package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// seedResolveTimeout bounds one round's DNS lookups.
const seedResolveTimeout = 2 * time.Second

// SeedStatus is what the node knows of its seeds (--join), for readiness.
type SeedStatus struct {
	Given      bool      // the node was given seeds
	Self       bool      // a seed is this node: it may be the first of its ring
	Answered   time.Time // the last time a seed answered; zero: never
	Company    time.Time // the last time the node saw another member up
	KeyRefused error     // the last round of joins' refusal of this node's gossip key
}

// seedState is the node's SeedStatus and the DNS seeds looked up again on
// every rejoin round.
type seedState struct {
	mu  sync.Mutex
	st  SeedStatus
	dns []Seed
}

func (s *seedState) status() SeedStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *seedState) update(f func(*SeedStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.st)
}

// SetSeeds records how many seeds the node was given in all (node URLs
// too, which the caller resolves), and keeps the DNS ones of seeds to look
// up again, and join, on every rejoin round.
func (n *Node) SetSeeds(given int, seeds []Seed) {
	var dns []Seed
	for _, s := range seeds {
		if s.DNS {
			dns = append(dns, s)
		}
	}
	n.seeds.mu.Lock()
	defer n.seeds.mu.Unlock()
	n.seeds.st.Given = n.seeds.st.Given || given > 0
	n.seeds.dns = dns
}

// SeedStatus reports what the node knows of its seeds.
func (n *Node) SeedStatus() SeedStatus { return n.seeds.status() }

// ResolveSeeds turns seeds into gossip addresses with the node's resolver;
// a DNS seed without a port takes this node's gossip port.
func (n *Node) ResolveSeeds(ctx context.Context, seeds []Seed) ([]string, error) {
	return ResolveSeeds(ctx, n.cfg.Resolver, seeds, n.gossipPort())
}

func (n *Node) gossipPort() int {
	_, port, _ := net.SplitHostPort(n.GossipAddr())
	p, _ := strconv.Atoi(port)
	return p
}

// JoinSeeds joins the seeds' gossip addresses, each at once, and notes
// whether one answered or refused this node's gossip key. This node's own
// address is not joined but noted: the node may be the first of its ring
// (see SeedStatus.Self). It returns how many other seeds answered and,
// when none did, the last error.
func (n *Node) JoinSeeds(addrs []string) (int, error) {
	if n.isShutdown() {
		return 0, ErrShutdown
	}
	self := n.GossipAddr()
	var others []string
	for _, a := range addrs {
		if a != self {
			others = append(others, a)
		}
	}
	reached, err := n.joinEach(others)
	n.seeds.update(func(s *SeedStatus) { s.note(len(others) < len(addrs), reached, err) })
	return reached, err
}

// note records one round of seed joins: a seed that answered clears a
// refusal of the key; this node's own address does not (the others
// still refuse it), but it makes the node the first of its ring.
func (s *SeedStatus) note(selfSeed bool, reached int, err error) {
	s.Self = s.Self || selfSeed
	s.noteKey(reached, err)
	if selfSeed || reached > 0 {
		s.Answered = time.Now()
	}
}

// noteKey records whether a round of joins (of seeds, or of the members a
// rejoin round retries) found this node's gossip key refused.
func (s *SeedStatus) noteKey(reached int, err error) {
	switch {
	case reached > 0:
		s.KeyRefused = nil
	case errors.Is(err, errKeyRefused):
		s.KeyRefused = err
	}
}

// errKeyRefused marks a join that failed because the seed could not
// decrypt this node's gossip (or this node the seed's).
var errKeyRefused = errors.New("the seed refuses this node's gossip key")

// joinEach joins every address at once (an unreachable one costs a TCP
// timeout, which must not delay the others); it returns how many answered
// and an error: a refused key (errKeyRefused) over any other.
func (n *Node) joinEach(addrs []string) (int, error) {
	ml := n.ml.Load()
	var reached atomic.Int32
	var mu sync.Mutex
	var last error
	var wg sync.WaitGroup
	for _, addr := range addrs[:min(len(addrs), maxRejoinsAtOnce)] {
		wg.Go(func() {
			k, err := ml.Join([]string{addr})
			if k > 0 {
				reached.Add(1)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && strings.Contains(err.Error(), "decrypt") {
				err = fmt.Errorf("%w: %w", errKeyRefused, err)
			}
			if !errors.Is(last, errKeyRefused) {
				last = err
			}
		})
	}
	wg.Wait()
	return int(reached.Load()), last
}

// seedRound looks the DNS seeds up again and joins the addresses that are
// not up members (a pod rescheduled, a healed split, the first peers of a
// fresh StatefulSet).
func (n *Node) seedRound() {
	n.seeds.mu.Lock()
	dns := n.seeds.dns
	n.seeds.mu.Unlock()
	if len(dns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), seedResolveTimeout)
	defer cancel()
	addrs, err := n.ResolveSeeds(ctx, dns)
	if err != nil {
		n.drops.warn("looking up the dns seeds failed; will retry", "err", err)
	}
	up := map[string]bool{}
	for _, m := range n.ml.Load().Members() {
		if m.Name != n.cfg.Name {
			up[m.Address()] = true
		}
	}
	var todo []string
	for _, a := range addrs {
		if !up[a] {
			todo = append(todo, a)
		}
	}
	if len(todo) > 0 {
		_, _ = n.JoinSeeds(todo)
	}
}

// noteCompany records that the node sees another member up.
func (n *Node) noteCompany() {
	if n.NumMembers() > 1 {
		n.seeds.update(func(s *SeedStatus) { s.Company = time.Now() })
	}
}
