package federation

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// Names never shadow each other. A peer's entries are listed here as
// "<peer>__<name>", so a local entry listed under the head "<peer>__" (an
// upstream's prefix, or a bare tool or prompt name with "__") would hide
// them. Both ways are refused when this node can see both names (409 naming
// both): an upstream whose prefix or entries use a peer's name (the
// catalog's reserved names, see mcp.Catalog.SetReserved), and a peer name
// that a local entry holds. A peer record that comes by gossip from a node
// that could not see this node's names is kept, but here the local entries
// win: the peer's entries are neither listed nor routed, the peer is named
// in missing_peers, its view's error says why, and the conflict is logged
// once (and its end once).

// peerNamed describes the peer called name, a live record or an
// auto-trusted member: the catalog's reserved names.
func (f *Engine) peerNamed(name string) (string, bool) {
	rec, ok := f.peerRecord(name)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("peer %q (member %s)", rec.Name, rec.Member), true
}

// checkPeerNameFree refuses, with the status to answer, a peer name that a
// local entry holds.
func (f *Engine) checkPeerNameFree(name string) (int, error) {
	if holder, ok := f.cfg.Local.Holder(name); ok {
		return http.StatusConflict, fmt.Errorf("%w: peer name %q is taken on this node by %s: the peer's entries %s__<name> would be shadowed; choose another name",
			mcp.ErrConflict, name, holder, name)
	}
	return 0, nil
}

// shadowedBy reports the local entry that holds peer's name, noting (and
// logging, once per change) the conflict.
func (f *Engine) shadowedBy(peer string) (string, bool) {
	holder, ok := f.cfg.Local.Holder(peer)
	f.shadows.note(f, peer, holder)
	return holder, ok
}

// shadowError is what a shadowed peer's view says.
func shadowError(peer, holder string) string {
	return fmt.Sprintf("name conflict: %s on this node holds the name %q, so this peer's entries are not listed or routed here; rename the peer or the local entry", holder, peer)
}

// shadowNotes remembers the peers found shadowed, to log each change once.
type shadowNotes struct {
	mu      sync.Mutex
	holders map[string]string // peer → local holder
}

func (s *shadowNotes) note(f *Engine, peer, holder string) {
	s.mu.Lock()
	prev := s.holders[peer]
	if s.holders == nil {
		s.holders = map[string]string{}
	}
	if holder == "" {
		delete(s.holders, peer)
	} else {
		s.holders[peer] = holder
	}
	s.mu.Unlock()
	switch {
	case holder != "" && holder != prev:
		f.log.Warn("peer's entries not listed here: a local entry holds its name", "peer", peer, "local", holder)
	case holder == "" && prev != "":
		f.log.Info("peer's name conflict is over: its entries are listed again", "peer", peer)
	}
}
