package gateway

// The REST handlers of /api/federation/peers: they check what a caller
// sent and ask the federation engine (federation.Engine) to do it.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
)

func (g *Gateway) listPeers(c *gin.Context) {
	c.JSON(http.StatusOK, g.fed.Peers())
}

func (g *Gateway) getPeer(c *gin.Context) {
	v, ok := g.fed.Peer(c.Param("name"))
	if !ok {
		abortJSON(c, http.StatusNotFound, fmt.Errorf("unknown peer %q", c.Param("name")))
		return
	}
	c.JSON(http.StatusOK, v)
}

func (g *Gateway) addPeer(c *gin.Context) {
	var body api.AddPeerRequest
	if err := decodeStrict(c.Request.Body, &body, "url, name, trust_level"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	u, err := checkPeerBody(&body)
	if err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	v, status, err := g.fed.AddPeer(c.Request.Context(), u, body.Name, body.TrustLevel)
	if err != nil {
		abortJSON(c, status, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

// checkPeerBody validates the fields of a new peer, filling defaults.
func checkPeerBody(b *api.AddPeerRequest) (string, error) {
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

func (g *Gateway) patchPeer(c *gin.Context) {
	var body api.TrustRequest
	if err := decodeStrict(c.Request.Body, &body, "trust_level"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	if err := cluster.CheckTrustLevel(body.TrustLevel); err != nil {
		abortJSON(c, http.StatusBadRequest, fmt.Errorf("trust_level %q must be one of full, discover, none", body.TrustLevel))
		return
	}
	v, err := g.fed.SetTrust(c.Param("name"), body.TrustLevel)
	if err != nil {
		abortJSON(c, federation.RegistryStatus(err), err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (g *Gateway) deletePeer(c *gin.Context) {
	if err := g.fed.DeletePeer(c.Param("name")); err != nil {
		abortJSON(c, federation.RegistryStatus(err), err)
		return
	}
	c.Status(http.StatusNoContent)
}
