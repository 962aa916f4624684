package federation

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// A node gossips which of its services' upstreams are up in its node meta
// (cluster.NodeMeta.ServiceHealth, at most cluster.MaxMetaHealth bytes):
// four bytes of FNV-1a over its service names, sorted and joined by
// newlines, then a bitmap, bit i (of byte i/8, lowest bit first) set when
// the i-th service's upstream is up. The names themselves, and which tools
// each service has, travel in its catalog, which its peers pull. A peer
// whose catalog names other services than the digest was made of (a pull
// under way) counts as up until they agree; so does a service past the
// bitmap's 128 bits: the provider's own answer then tells (it refuses a
// forwarded call of a service whose upstream is down: provider_down).

// maxHealthServices is how many services the bitmap can say something of.
const maxHealthServices = (cluster.MaxMetaHealth - 4) * 8

// HealthDigest is the service health digest of a node's local providers
// that list tools ("" when it has none).
func HealthDigest(all []mcp.ServiceState) string {
	states := slices.DeleteFunc(slices.Clone(all), func(s mcp.ServiceState) bool { return !s.Listed })
	if len(states) == 0 {
		return ""
	}
	slices.SortFunc(states, func(a, b mcp.ServiceState) int { return strings.Compare(a.Service, b.Service) })
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.Service
	}
	n := min(len(states), maxHealthServices)
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+(n+7)/8), namesHash(names))
	b = append(b, make([]byte, (n+7)/8)...)
	for i, s := range states[:n] {
		if s.Up {
			b[4+i/8] |= 1 << (i % 8)
		}
	}
	return string(b)
}

func namesHash(names []string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(names, "\n")))
	return h.Sum32()
}

// healthSays reports whether digest, made over the services names (the
// ones the provider's catalog shows), says service is down; false when it
// cannot tell.
func healthSaysDown(digest string, names []string, service string) bool {
	if len(digest) < 4 {
		return false
	}
	slices.Sort(names)
	if binary.BigEndian.Uint32([]byte(digest[:4])) != namesHash(names) {
		return false
	}
	i := slices.Index(names, service)
	if i < 0 || 4+i/8 >= len(digest) {
		return false
	}
	return digest[4+i/8]&(1<<(i%8)) == 0
}

// peerServiceDown reports whether the provider behind l gossips that its
// upstream of service is down.
func (f *Engine) peerServiceDown(l *peerLink, service string) bool {
	m, ok := f.cfg.Node.Member(l.record().Member)
	if !ok {
		return false
	}
	svcs := l.entries.Load().services
	names := make([]string, 0, len(svcs))
	for s := range svcs {
		names = append(names, s)
	}
	return healthSaysDown(m.Meta.ServiceHealth, names, service)
}
