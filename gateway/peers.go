package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// addPeerWait bounds how long POST /api/federation/peers waits for the
// new peer's first catalog.
const addPeerWait = 10 * time.Second

// peerView is a peer as the REST API shows it.
type peerView struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Member        string     `json:"member"`
	TrustLevel    string     `json:"trust_level"`
	Status        string     `json:"status"`
	Tools         int        `json:"tools"`
	LastSeen      *time.Time `json:"last_seen"`
	CatalogDigest string     `json:"catalog_digest,omitempty"`
	Error         string     `json:"error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	UpdatedBy     string     `json:"updated_by"`
}

// view describes rec with its health as this node sees it.
func (f *Federation) peerView(rec cluster.PeerRecord) peerView {
	v := peerView{Name: rec.Name, URL: rec.URL, Member: rec.Member, TrustLevel: rec.TrustLevel,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.Writer, Status: StatusOffline}
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
		case v.Status == StatusStale:
			v.Error = "its catalog could not be refreshed: " + st.ListError
		case l.noURL:
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
		return StatusOnline
	case cluster.StateSuspect:
		return StatusSuspect
	case cluster.StateLeft:
		return StatusLeft
	}
	return StatusOffline
}

func (g *Gateway) listPeers(c *gin.Context) {
	out := []peerView{}
	for _, rec := range g.fed.peerRecords() {
		out = append(out, g.fed.peerView(rec))
	}
	c.JSON(http.StatusOK, out)
}

func (g *Gateway) getPeer(c *gin.Context) {
	rec, ok := g.fed.peerRecord(c.Param("name"))
	if !ok {
		abortJSON(c, http.StatusNotFound, fmt.Errorf("unknown peer %q", c.Param("name")))
		return
	}
	c.JSON(http.StatusOK, g.fed.peerView(rec))
}

type addPeerBody struct {
	URL        string `json:"url"`
	Name       string `json:"name"`
	TrustLevel string `json:"trust_level"`
}

func (g *Gateway) addPeer(c *gin.Context) {
	var body addPeerBody
	if err := decodeStrict(c.Request.Body, &body, "url, name, trust_level"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	u, err := checkPeerBody(&body)
	if err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	rec, status, err := g.fed.AddPeer(c.Request.Context(), u, body.Name, body.TrustLevel)
	if err != nil {
		abortJSON(c, status, err)
		return
	}
	c.JSON(http.StatusCreated, g.fed.peerView(rec))
}

// checkPeerBody validates the fields of a new peer, filling defaults.
func checkPeerBody(b *addPeerBody) (string, error) {
	u, err := url.Parse(strings.TrimSpace(b.URL))
	if b.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("url %q must be an absolute http or https URL of a node, such as http://127.0.0.1:8001", b.URL)
	}
	if b.TrustLevel == "" {
		b.TrustLevel = cluster.TrustFull
	}
	if err := cluster.CheckTrustLevel(b.TrustLevel); err != nil {
		return "", fmt.Errorf("trust_level %q must be one of full, discover, none", b.TrustLevel)
	}
	if b.Name != "" {
		if err := cluster.CheckPeerName(b.Name); err != nil {
			return "", fmt.Errorf("name %q must be 1-32 characters of a-z, 0-9 and '-'", b.Name)
		}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

type patchPeerBody struct {
	TrustLevel string `json:"trust_level"`
}

func (g *Gateway) patchPeer(c *gin.Context) {
	var body patchPeerBody
	if err := decodeStrict(c.Request.Body, &body, "trust_level"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	if err := cluster.CheckTrustLevel(body.TrustLevel); err != nil {
		abortJSON(c, http.StatusBadRequest, fmt.Errorf("trust_level %q must be one of full, discover, none", body.TrustLevel))
		return
	}
	rec, err := g.fed.cfg.Node.Registry().SetTrust(c.Param("name"), body.TrustLevel)
	if err != nil {
		abortJSON(c, registryStatus(err), err)
		return
	}
	g.fed.reconcile()
	c.JSON(http.StatusOK, g.fed.peerView(rec))
}

func (g *Gateway) deletePeer(c *gin.Context) {
	if err := g.fed.cfg.Node.Registry().Delete(c.Param("name")); err != nil {
		abortJSON(c, registryStatus(err), err)
		return
	}
	g.fed.reconcile()
	c.Status(http.StatusNoContent)
}

// registryStatus maps a registry error to its HTTP status.
func registryStatus(err error) int {
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

// AddPeer makes the node at url a peer: it asks the node who it is, joins
// its gossip address if it is not a member yet, checks that the member
// gossips url's address (provePeer), writes the record and waits (bounded)
// for the peer's first catalog. It returns the HTTP status to
// answer with when it fails; nothing is written then.
func (f *Federation) AddPeer(ctx context.Context, peerURL, name, trust string) (cluster.PeerRecord, int, error) {
	info, err := f.FetchInfo(ctx, peerURL)
	if err != nil {
		return cluster.PeerRecord{}, http.StatusBadGateway, fmt.Errorf("cannot reach %s: %w", peerURL, err)
	}
	if info.Name == f.self {
		return cluster.PeerRecord{}, http.StatusBadRequest, fmt.Errorf("url %s is this node (%s) itself", peerURL, f.self)
	}
	if status, err := f.provePeer(ctx, peerURL, info); err != nil {
		return cluster.PeerRecord{}, status, err
	}
	if name == "" {
		name = info.Name
	}
	if status, err := f.checkPeerNameFree(name); err != nil {
		return cluster.PeerRecord{}, status, err
	}
	rec, err := f.cfg.Node.Registry().Add(cluster.PeerRecord{Name: name, Member: info.Name, URL: peerURL, TrustLevel: trust})
	if err != nil {
		return cluster.PeerRecord{}, registryStatus(err), err
	}
	f.reconcile()
	wctx, cancel := context.WithTimeout(ctx, addPeerWait)
	defer cancel()
	f.WaitLinked(wctx, rec.Name)
	return rec, 0, nil
}
