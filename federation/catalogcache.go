package federation

import (
	"encoding/json"
	"errors"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
)

// CatalogKeyPrefix prefixes the store keys of peers' cached catalogs.
const CatalogKeyPrefix = "catalogs/"

// cacheSlack is what the encoding of a cached catalog may add to the
// catalog bound: a catalog within the bound is always cached.
const cacheSlack = 1 << 20

// cachedCatalog is a peer's local catalog as its link last listed it, kept
// so that a restarted node lists the peer's entries at once, before its
// link is up again (the first listing then replaces it).
type cachedCatalog struct {
	Member string          `json:"member"`
	Defs   mcp.Definitions `json:"defs"`
}

// loadCatalog returns the cached catalog of rec's peer, if it was listed
// from the same member; anything unreadable counts as no cache.
func (f *Engine) loadCatalog(rec cluster.PeerRecord) mcp.Definitions {
	if f.cfg.Store == nil {
		return mcp.Definitions{}
	}
	b, err := f.cfg.Store.Get(CatalogKeyPrefix + rec.Name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			f.log.Warn("cannot read a peer's cached catalog", "peer", rec.Name, "err", err)
		}
		return mcp.Definitions{}
	}
	var c cachedCatalog
	if json.Unmarshal(b, &c) != nil || c.Member != rec.Member {
		return mcp.Definitions{}
	}
	return c.Defs
}

// saveCatalog caches defs as rec's peer's catalog.
func (f *Engine) saveCatalog(rec cluster.PeerRecord, defs mcp.Definitions) {
	if f.cfg.Store == nil {
		return
	}
	b, err := json.Marshal(cachedCatalog{Member: rec.Member, Defs: defs})
	if err != nil || int64(len(b)) > f.cfg.MaxCatalogBytes+cacheSlack {
		f.dropCatalog(rec.Name) // an older, smaller one would be stale
		return
	}
	if err := f.cfg.Store.Put(CatalogKeyPrefix+rec.Name, b); err != nil {
		f.log.Warn("cannot cache a peer's catalog", "peer", rec.Name, "err", err)
	}
}

// dropCatalog forgets the cached catalog of the peer name.
func (f *Engine) dropCatalog(name string) {
	if f.cfg.Store == nil {
		return
	}
	if err := f.cfg.Store.Delete(CatalogKeyPrefix + name); err != nil {
		f.log.Warn("cannot drop a peer's cached catalog", "peer", name, "err", err)
	}
}
