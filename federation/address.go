package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Addresses compared as resolved host and port: a peer URL against the URL
// its member gossips (peer_identity.go), an upstream URL against this node
// and the ring (selfloop.go), a node token's target (nodetoken.go).

// errNoAddress is the error of a URL with no host to compare.
var errNoAddress = errors.New("no host and port")

// resolveTimeout bounds resolving the host names of one comparison.
const resolveTimeout = 3 * time.Second

// endpoint is a URL's host, resolved, and port.
type endpoint struct {
	ips  []netip.Addr
	port string
}

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
}

// hostPort returns a URL's host and port (the scheme's default port when
// it names none).
func hostPort(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", "", fmt.Errorf("url %q has %w", raw, errNoAddress)
	}
	return u.Hostname(), urlPort(u), nil
}

// resolveURL resolves the host and port of an http(s) URL.
func resolveURL(ctx context.Context, raw string) (endpoint, error) {
	host, port, err := hostPort(raw)
	if err != nil {
		return endpoint{}, err
	}
	ips, err := resolveHost(ctx, host)
	return endpoint{ips: ips, port: port}, err
}

// resolveHost returns the addresses of host (itself if it is an address).
func resolveHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	return ips, nil
}

// shares reports whether e and o have the same port and a common address:
// the strict test of identity (127.0.0.2 is not 127.0.0.1).
func (e endpoint) shares(o endpoint) bool {
	return e.port == o.port && slices.ContainsFunc(e.ips, func(a netip.Addr) bool { return slices.Contains(o.ips, a) })
}

// sameMachine reports whether e and o have the same port and a host in
// common, counting every loopback and unspecified address as one host:
// the loose test of "is this us" (selfloop.go).
func (e endpoint) sameMachine(o endpoint) bool {
	if e.port != o.port {
		return false
	}
	return slices.ContainsFunc(e.ips, func(a netip.Addr) bool {
		return slices.ContainsFunc(o.ips, func(b netip.Addr) bool { return a == b || (isLocal(a) && isLocal(b)) })
	})
}

func isLocal(ip netip.Addr) bool { return ip.IsLoopback() || ip.IsUnspecified() }

// isThisMachine reports whether ip is local or one of this machine's
// interface addresses.
func isThisMachine(ip netip.Addr) bool {
	if isLocal(ip) {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(addrs, func(a net.Addr) bool {
		n, ok := a.(*net.IPNet)
		if !ok {
			return false
		}
		na, ok := netip.AddrFromSlice(n.IP)
		return ok && na.Unmap() == ip
	})
}

// sameAddress reports whether two URLs name the same host and port, once
// their hosts are resolved: http://localhost:8001 and http://127.0.0.1:8001
// are the same address. The error says why a host could not be resolved.
func sameAddress(ctx context.Context, a, b string) (bool, error) {
	ha, pa, err := hostPort(a)
	if err != nil {
		return false, err
	}
	hb, pb, err := hostPort(b)
	if err != nil || pa != pb {
		return false, err
	}
	if strings.EqualFold(ha, hb) {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ea, err := resolveURL(ctx, a)
	if err != nil {
		return false, err
	}
	eb, err := resolveURL(ctx, b)
	if err != nil {
		return false, err
	}
	return ea.shares(eb), nil
}
