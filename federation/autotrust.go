package federation

import (
	"slices"
	"strings"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// AutoTrustWriter marks the records --auto-trust makes up: they live on
// this node only and are never written to the registry.
const AutoTrustWriter = "auto-trust"

// autoPeers are the peers --auto-trust makes of the ring's members that
// have no peer record: every member (holding the ring's key, or it could
// not be a member) that has not left, named after itself.
func (f *Engine) autoPeers() map[string]cluster.PeerRecord {
	out := map[string]cluster.PeerRecord{}
	if f.cfg.AutoTrust == "" {
		return out
	}
	reg := f.cfg.Node.Registry()
	for _, m := range f.cfg.Node.Members() {
		name := autoPeerName(m.Name)
		if _, has := reg.ByMember(m.Name); has || m.Name == f.self || m.State == cluster.StateLeft || m.Meta.URL == "" {
			continue
		}
		if _, taken := reg.Get(name); taken || cluster.CheckPeerName(name) != nil {
			continue
		}
		out[name] = cluster.PeerRecord{Name: name, Member: m.Name, URL: m.Meta.URL,
			TrustLevel: f.cfg.AutoTrust, Writer: AutoTrustWriter}
	}
	return out
}

// autoPeerName is a member's name as a peer name: lowered, cut to 32.
func autoPeerName(member string) string {
	name := strings.ToLower(member)
	return name[:min(len(name), 32)]
}

// peerRecords are the registry's live records plus the auto-trusted ones.
func (f *Engine) peerRecords() []cluster.PeerRecord {
	recs := f.cfg.Node.Registry().List()
	f.mu.Lock()
	auto := mapValues(f.auto)
	f.mu.Unlock()
	slices.SortFunc(auto, func(a, b cluster.PeerRecord) int { return strings.Compare(a.Name, b.Name) })
	return append(recs, auto...)
}

// peerRecord finds a live record or an auto-trusted one by name.
func (f *Engine) peerRecord(name string) (cluster.PeerRecord, bool) {
	if rec, ok := f.cfg.Node.Registry().Get(name); ok {
		return rec, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.auto[name]
	return rec, ok
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
