package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
)

// addPeerWait bounds how long AddPeer waits for the new peer's first
// catalog.
const addPeerWait = 10 * time.Second

// Peers describes every peer, the registry's and the auto-trusted ones,
// with its health as this node sees it.
func (f *Engine) Peers() []api.Peer {
	out := []api.Peer{}
	for _, rec := range f.peerRecords() {
		out = append(out, f.peerView(rec))
	}
	return out
}

// Peer describes the peer called name, if there is one.
func (f *Engine) Peer(name string) (api.Peer, bool) {
	rec, ok := f.peerRecord(name)
	if !ok {
		return api.Peer{}, false
	}
	return f.peerView(rec), true
}

// peerView describes rec with its health as this node sees it.
func (f *Engine) peerView(rec cluster.PeerRecord) api.Peer {
	v := api.Peer{Name: rec.Name, URL: rec.URL, Member: rec.Member, TrustLevel: rec.TrustLevel,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.Writer, Status: api.PeerOffline}
	m, known := f.cfg.Node.Member(rec.Member)
	if known {
		v.CatalogDigest = m.Meta.CatalogDigest
		if m.State == cluster.StateAlive || m.State == cluster.StateSuspect {
			now := time.Now().UTC()
			v.LastSeen = &now
		} else {
			since := m.Since.UTC()
			v.LastSeen = &since
		}
	}
	if l := f.link(rec.Name); l != nil {
		v.Status, v.Tools = l.status(), len(l.entries.Load().tools)
		st := l.up.Status()
		v.Error = st.Error
		switch {
		case v.Status == api.PeerStale:
			v.Error = "its catalog could not be refreshed: " + st.ListError
		case l.noURL, v.Error == "" && l.refusing.Load():
			v.Error = f.offlineReason(l, v.Status)
		}
	} else if known {
		v.Status = memberStatus(m.State)
	}
	if holder, shadowed := f.shadowedBy(rec.Name); shadowed {
		v.Error = shadowError(rec.Name, holder)
	}
	return v
}

// memberStatus maps a gossip state to a peer status.
func memberStatus(state string) string {
	switch state {
	case cluster.StateAlive:
		return api.PeerOnline
	case cluster.StateSuspect:
		return api.PeerSuspect
	case cluster.StateLeft:
		return api.PeerLeft
	}
	return api.PeerOffline
}

// RegistryStatus maps a registry error to its HTTP status.
func RegistryStatus(err error) int {
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, cluster.ErrNameTaken), errors.Is(err, cluster.ErrMemberTaken):
		return http.StatusConflict
	case errors.Is(err, cluster.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// SetTrust writes the peer's new trust level to the registry and links or
// unlinks it accordingly.
func (f *Engine) SetTrust(name, level string) (api.Peer, error) {
	rec, err := f.cfg.Node.Registry().SetTrust(name, level)
	if err != nil {
		return api.Peer{}, err
	}
	f.reconcile()
	return f.peerView(rec), nil
}

// DeletePeer removes the peer from the registry and ends its link.
func (f *Engine) DeletePeer(name string) error {
	if err := f.cfg.Node.Registry().Delete(name); err != nil {
		return err
	}
	f.reconcile()
	return nil
}

// AddPeer makes the node at url a peer: it asks the node who it is, joins
// its gossip address if it is not a member yet, checks that the member
// gossips url's address (provePeer), writes the record and waits (bounded)
// for the peer's first catalog. It returns the HTTP status to
// answer with when it fails; nothing is written then.
func (f *Engine) AddPeer(ctx context.Context, peerURL, name, trust string) (api.Peer, int, error) {
	info, err := f.FetchInfo(ctx, peerURL)
	if err != nil {
		return api.Peer{}, http.StatusBadGateway, fmt.Errorf("cannot reach %s: %w", peerURL, err)
	}
	if info.Name == f.self {
		return api.Peer{}, http.StatusBadRequest, fmt.Errorf("url %s is this node (%s) itself", peerURL, f.self)
	}
	if status, err := f.provePeer(ctx, peerURL, info); err != nil {
		return api.Peer{}, status, err
	}
	if name == "" {
		name = info.Name
	}
	if status, err := f.checkPeerNameFree(name); err != nil {
		return api.Peer{}, status, err
	}
	rec, err := f.cfg.Node.Registry().Add(cluster.PeerRecord{Name: name, Member: info.Name, URL: peerURL, TrustLevel: trust})
	if err != nil {
		return api.Peer{}, RegistryStatus(err), err
	}
	f.reconcile()
	wctx, cancel := context.WithTimeout(ctx, addPeerWait)
	defer cancel()
	f.WaitLinked(wctx, rec.Name)
	return f.peerView(rec), 0, nil
}
