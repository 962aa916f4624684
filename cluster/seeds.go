package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Resolver looks up the addresses of a host name (every A and AAAA
// record); *net.Resolver is one.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Seed is a --join entry that names gossip addresses: "host:port", or
// "dns:NAME[:PORT]" for every address of NAME (a Kubernetes headless
// Service), looked up again on every rejoin round.
type Seed struct {
	Host string
	Port int  // 0 with DNS: this node's own gossip port
	DNS  bool // Host is a name to resolve on every round
}

// hostRE is what a host name may be: DNS labels of letters, digits, '-'
// and '_', dot-separated.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$`)

// ParseSeed checks a gossip seed: "host:port" or "dns:NAME[:PORT]".
func ParseSeed(s string) (Seed, error) {
	if rest, ok := strings.CutPrefix(s, "dns:"); ok {
		return parseDNSSeed(rest)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Seed{}, fmt.Errorf("not host:port, dns:NAME[:PORT] or an http(s) URL: %w", err)
	}
	return checkSeed(Seed{Host: host}, port)
}

func parseDNSSeed(rest string) (Seed, error) {
	if !strings.Contains(rest, ":") {
		return checkSeed(Seed{Host: rest, DNS: true}, "")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return Seed{}, fmt.Errorf("not dns:NAME[:PORT]: %w", err)
	}
	if port == "" {
		return Seed{}, errors.New("dns: port is empty")
	}
	return checkSeed(Seed{Host: host, DNS: true}, port)
}

// checkSeed checks s's host and the port text (empty: none, for dns).
func checkSeed(s Seed, port string) (Seed, error) {
	if s.Host == "" {
		return Seed{}, errors.New("host name is empty")
	}
	if net.ParseIP(s.Host) == nil && (len(s.Host) > 253 || !hostRE.MatchString(s.Host)) {
		return Seed{}, fmt.Errorf("host %q is neither an IP address nor a host name", s.Host)
	}
	if port == "" && s.DNS {
		return s, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return Seed{}, fmt.Errorf("port %q must be a number from 1 to 65535", port)
	}
	s.Port = p
	return s, nil
}

// String is the seed as it was given.
func (s Seed) String() string {
	addr := s.Host
	if s.Port > 0 {
		addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	if s.DNS {
		return "dns:" + addr
	}
	return addr
}

// ResolveSeeds turns seeds into gossip addresses: a DNS seed into one per
// address of its name at its port (default ownPort), another seed into
// its host:port. A name that does not resolve is an error, joined to the
// others; the addresses that resolved are still returned.
func ResolveSeeds(ctx context.Context, r Resolver, seeds []Seed, ownPort int) ([]string, error) {
	var addrs []string
	var errs []error
	for _, s := range seeds {
		if !s.DNS {
			addrs = append(addrs, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
			continue
		}
		ips, err := r.LookupHost(ctx, s.Host)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve %s: %w", s, err))
			continue
		}
		port := s.Port
		if port == 0 {
			port = ownPort
		}
		for _, ip := range ips {
			addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(port)))
		}
	}
	return addrs, errors.Join(errs...)
}
