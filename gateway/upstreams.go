package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// serverConfig and upstreamStatus are the mcp package's, named short here.
type (
	serverConfig   = mcp.ServerConfig
	upstreamStatus = mcp.UpstreamStatus
)

// upstream is what the gateway needs of an *mcp.Upstream.
type upstream interface {
	mcp.Source
	Start(ctx context.Context)
	WaitReady(ctx context.Context) error
	Close() error
	Status() mcp.UpstreamStatus
}

// newUpstream is an upstream within the node's byte bounds and call
// timeout, counted.
func (g *Gateway) newUpstream(cfg serverConfig) upstream {
	opts := g.bounded.upstreamOptions(cfg.Name, g.bounds)
	opts.Logger, opts.OnChange, opts.CallTimeout = g.log, g.catalog.Changed, g.upstreamTimeout
	opts.Holds, opts.Tracing = g.holds, g.tracing
	opts.ProtocolVersion = cfg.ProtocolVersion // "": mcp's default
	return mcp.NewUpstream(cfg, opts)
}

// serverKeyPrefix is where API-registered upstreams live in the store.
const serverKeyPrefix = "servers/"

// errClosing refuses work that arrives while the gateway closes.
var errClosing = errors.New("node is shutting down")

// unknownServerError is a lookup of a server name the node does not have.
type unknownServerError string

func (e unknownServerError) Error() string {
	return fmt.Sprintf("no upstream server named %q", string(e))
}

func errUnknownServer(name string) error { return unknownServerError(name) }

// configServerError refuses to remove a server of the --config file at run
// time: the removal could not outlive a restart.
type configServerError string

func (e configServerError) Error() string {
	return fmt.Sprintf("server %q comes from the --config file: remove it there and restart", string(e))
}

// checkServer validates an entry before anything is started.
func checkServer(cfg serverConfig) error {
	switch {
	case cfg.Name == "":
		return errors.New(`field "name" is required`)
	case cfg.Disabled:
		return fmt.Errorf(`server %q: field "disabled" cannot be set on a registration`, cfg.Name)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("server %q: %w", cfg.Name, err)
	}
	return nil
}

// checkNotMesh refuses an upstream whose URL points at this node or at a
// ring member (federation.CheckNotMesh): its tools would loop.
func (g *Gateway) checkNotMesh(ctx context.Context, cfg serverConfig) error {
	self := federation.Self{Name: g.name, URL: g.url, Listen: g.listen}
	return federation.CheckNotMesh(ctx, self, g.node, cfg.Name, cfg.URL)
}

// register starts an upstream from an API request, waits (bounded) until it
// connects or fails, adds it to the catalog and persists it. On any error
// nothing is left behind.
func (g *Gateway) register(ctx context.Context, cfg serverConfig) (api.Server, error) {
	if err := g.catalog.CheckReserved(cfg.Name, cfg.ListPrefix(), mcp.Definitions{}); err != nil {
		return api.Server{}, err // its prefix is a peer's name (federation's shadow.go)
	}
	if err := g.servers.reserve(cfg, g.catalog.Names()); err != nil {
		return api.Server{}, err
	}
	defer g.servers.release(cfg.Name)
	e := g.launch(ctx, cfg, originAPI)
	if err := g.catalog.AddEntry(cfg, e.up); err != nil {
		_ = e.up.Close()
		return api.Server{}, err
	}
	if err := g.persist(cfg); err != nil {
		g.catalog.Remove(cfg.Name)
		_ = e.up.Close()
		return api.Server{}, err
	}
	if !g.servers.put(e) {
		g.catalog.Remove(cfg.Name)
		_ = e.up.Close()
		return api.Server{}, errClosing
	}
	g.log.Info("upstream server registered", "server", cfg.Name, "state", e.up.Status().State)
	return e.view(), nil
}

// launch starts an upstream under the gateway's lifetime and waits up to
// ReadyTimeout (or until ctx ends) for it to connect or fail.
func (g *Gateway) launch(ctx context.Context, cfg serverConfig, origin string) *serverEntry {
	up := g.newUpstream(cfg)
	up.Start(g.runCtx)
	wctx, cancel := context.WithTimeout(ctx, g.readyTimeout)
	defer cancel()
	if err := up.WaitReady(wctx); err != nil {
		g.log.Warn("upstream server not ready", "server", cfg.Name, "err", err)
	}
	return &serverEntry{cfg: cfg, origin: origin, up: up}
}

func (g *Gateway) persist(cfg serverConfig) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding server %q: %w", cfg.Name, err)
	}
	if err := g.store.Put(serverKeyPrefix+cfg.Name, data); err != nil {
		return fmt.Errorf("saving server %q: %w", cfg.Name, err)
	}
	return nil
}

// unregister removes an API-registered upstream: from the store first (so a
// failure changes nothing), then from the catalog, then stops it.
func (g *Gateway) unregister(name string) error {
	e, err := g.servers.remove(name, func(e *serverEntry) error {
		if e.origin == originConfig {
			return configServerError(name)
		}
		if err := g.store.Delete(serverKeyPrefix + name); err != nil {
			return fmt.Errorf("removing server %q from the store: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.catalog.Remove(name)
	if err := e.up.Close(); err != nil {
		g.log.Warn("closing upstream server", "server", name, "err", err)
	}
	g.log.Info("upstream server removed", "server", name)
	return nil
}

// loadStored reads the API-registered servers; an entry that cannot be read
// is logged and skipped so one bad record cannot stop the node.
func (g *Gateway) loadStored() ([]serverConfig, error) {
	var out []serverConfig
	err := g.store.Scan(serverKeyPrefix, func(key string, value []byte) error {
		var cfg serverConfig
		err := json.Unmarshal(value, &cfg)
		if err == nil && cfg.Name != strings.TrimPrefix(key, serverKeyPrefix) {
			err = fmt.Errorf("record names server %q", cfg.Name)
		}
		if err == nil {
			err = checkServer(cfg)
		}
		if err != nil {
			g.log.Error("skipping stored upstream server", "key", key, "err", err)
			return nil
		}
		out = append(out, cfg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading stored servers: %w", err)
	}
	return out, nil
}

type bootItem struct {
	cfg    serverConfig
	origin string
}

// mergeBoot lists what to start at boot: the config file's servers, then
// the stored ones. A stored server wins over a config entry of its name.
func (g *Gateway) mergeBoot(stored []serverConfig) []bootItem {
	seen := map[string]bool{}
	for _, cfg := range stored {
		seen[cfg.Name] = true
	}
	var items []bootItem
	for _, cfg := range g.configServers {
		if seen[cfg.Name] {
			g.log.Warn("config file server shadowed by the stored one of the same name", "server", cfg.Name)
			continue
		}
		seen[cfg.Name] = true
		items = append(items, bootItem{cfg, originConfig})
	}
	for _, cfg := range stored {
		items = append(items, bootItem{cfg, originAPI})
	}
	return items
}

// bootServers starts every item at once, then adds them to the catalog in
// order, so that which of two clashing servers wins is deterministic. An
// item pointed at the mesh is not started at all (federation.CheckNotMesh).
func (g *Gateway) bootServers(ctx context.Context, items []bootItem) {
	entries := make([]*serverEntry, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		if err := g.checkNotMesh(ctx, it.cfg); err != nil {
			entries[i] = &serverEntry{cfg: it.cfg, origin: it.origin, up: g.newUpstream(it.cfg), refused: err}
			continue
		}
		wg.Go(func() { entries[i] = g.launch(ctx, it.cfg, it.origin) })
	}
	wg.Wait()
	for _, e := range entries {
		g.addBooted(e)
	}
}

// addBooted adds a started entry to the catalog, or lists it as refused.
func (g *Gateway) addBooted(e *serverEntry) {
	if e.refused == nil {
		e.refused = g.catalog.AddEntry(e.cfg, e.up)
	}
	if e.refused != nil {
		_ = e.up.Close()
		g.log.Error("upstream server refused", "server", e.cfg.Name, "err", e.refused)
	}
	if !g.servers.put(e) {
		_ = e.up.Close()
	}
}
