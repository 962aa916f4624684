package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// listTools is GET /api/tools: a bare JSON array of the tools as tools/list
// gives them, all pages at once. ?include_federated= (default true).
func (g *Gateway) listTools(c *gin.Context) {
	fed := true
	if v, ok := c.GetQuery("include_federated"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abortJSON(c, http.StatusBadRequest, fmt.Errorf("include_federated must be true or false, not %q", v))
			return
		}
		fed = b
	}
	l, err := g.backend.List(c.Request.Context(), mcp.KindTool, mcp.ListOptions{IncludeFederated: fed})
	if err != nil {
		abortJSON(c, http.StatusInternalServerError, fmt.Errorf("listing tools: %w", err))
		return
	}
	out := make([]json.RawMessage, len(l.Items))
	for i, it := range l.Items {
		out[i] = it.JSON
	}
	c.JSON(http.StatusOK, out)
}

// listDigests remembers a hash of each kind's local listing, so that a
// catalog change notifies MCP sessions only of the kinds that changed.
type listDigests struct {
	mu  sync.Mutex
	sum map[mcp.Kind][32]byte
}

// notifyKinds maps each listed kind to the list_changed it is announced by:
// resource templates are announced as resources.
var notifyKinds = map[mcp.Kind]mcp.Kind{
	mcp.KindTool: mcp.KindTool, mcp.KindPrompt: mcp.KindPrompt,
	mcp.KindResource: mcp.KindResource, mcp.KindResourceTemplate: mcp.KindResource,
}

func (d *listDigests) init(g *Gateway) {
	sum := map[mcp.Kind][32]byte{}
	for k := range notifyKinds {
		sum[k] = g.kindDigest(k)
	}
	d.mu.Lock()
	d.sum = sum
	d.mu.Unlock()
}

// federationChanged is the federation engine's OnChange hook.
func (g *Gateway) federationChanged() {
	if g.mcp != nil && g.lists.ready() {
		g.catalogChanged()
	}
	if g.fed != nil {
		g.peerServersChanged()
	}
}

func (d *listDigests) ready() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sum != nil
}

// catalogChanged is the Catalog's OnChange hook.
func (g *Gateway) catalogChanged() {
	changed := map[mcp.Kind]bool{}
	g.lists.mu.Lock()
	for k, announce := range notifyKinds {
		sum := g.kindDigest(k)
		if sum != g.lists.sum[k] {
			g.lists.sum[k] = sum
			changed[announce] = true
		}
	}
	g.lists.mu.Unlock()
	for k := range changed {
		g.mcp.NotifyListChanged(k)
	}
}

func (g *Gateway) kindDigest(k mcp.Kind) [32]byte { return listDigest(g.backend, k) }

// listDigest hashes b's federated listing of kind k, all of it (as no
// access rule restricts it).
func listDigest(b mcp.Backend, k mcp.Kind) [32]byte {
	return listDigestAs(federation.WithUnrestricted(context.Background()), b, k)
}

// listDigestAs hashes b's federated listing of kind k as ctx's caller
// sees it.
func listDigestAs(ctx context.Context, b mcp.Backend, k mcp.Kind) [32]byte {
	h := sha256.New()
	if l, err := b.List(ctx, k, mcp.ListOptions{IncludeFederated: true}); err == nil {
		for _, it := range l.Items {
			h.Write(it.JSON)
			h.Write([]byte{0})
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
