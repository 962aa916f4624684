package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

// serve runs one node until ctx ends, then shuts it down in order: stop
// accepting, finish requests in flight (bounded), close sessions and
// upstreams, close the store.
func serve(ctx context.Context, cfg *serveConfig, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	if cfg.DevSecret {
		log.Warn("development mode: using the public development JWT secret; anyone can mint tokens for this node")
	}
	servers, err := loadServers(cfg.Config)
	if err != nil {
		return err
	}
	st, err := badgerstore.Open(cfg.DataDir, badgerstore.Options{Logger: log.With("component", "store")})
	if err != nil {
		return err
	}
	defer closeStore(st, log)
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP, err)
	}
	url := advertise(cfg, ln)
	cat, err := newCatalog(cfg, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	rg, err := startRing(ctx, cfg, st, cat, url, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer rg.leave(log)
	gw, err := gateway.New(gateway.Config{
		Name: cfg.Name, Version: version, URL: url, Listen: ln.Addr().String(), Secret: cfg.Secret,
		Store: st, Catalog: cat, Servers: servers, Logger: log,
		AllowedOrigins: cfg.AllowedOrigins, AllowedHosts: cfg.AllowedHosts, Node: rg.node, PeerTimeout: cfg.PeerTimeout, AutoTrust: cfg.AutoTrust,
		MaxSessions: cfg.MaxSessions, MaxSessionsPerPrincipal: cfg.MaxSessionsPerPrincipal,
		Bounds:          gateway.Bounds{MaxCatalogBytes: cfg.MaxCatalogBytes, MaxResultBytes: cfg.MaxResultBytes},
		UpstreamTimeout: cfg.UpstreamTimeout, Conns: cfg.Conns,
		InputTimeout: cfg.InputTimeout, MaxHeldRequests: cfg.MaxHeldRequests,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	gw.JoinRing(cfg.Join)
	return serveHTTP(ctx, gw, ln, log)
}

// serveHTTP serves HTTP on ln, starts the gateway's upstreams, waits for
// ctx to end and shuts down.
func serveHTTP(ctx context.Context, gw *gateway.Gateway, ln net.Listener, log *slog.Logger) error {
	srv := gw.HTTPServer() // with the connection deadlines; Listener caps unauthenticated connections
	served := make(chan error, 1)
	go func() { served <- srv.Serve(gw.Listener(ln)) }()
	log.Info("mcpmesh listening", "addr", ln.Addr().String(), "version", version)
	err := gw.Start(ctx)
	if err == nil {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "timeout", shutdownTimeout)
		case err = <-served:
			err = fmt.Errorf("http server stopped: %w", err)
		}
	}
	shutdown(srv, gw, log)
	return err
}

// shutdown stops accepting and lets requests in flight finish while the
// gateway drains, then ends MCP sessions (their open streams) and upstreams.
func shutdown(srv *http.Server, gw *gateway.Gateway, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gw.Close(ctx); err != nil {
			log.Warn("gateway close", "err", err)
		}
	})
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown incomplete; closing connections", "err", err)
		_ = srv.Close()
	}
	wg.Wait()
}

func newCatalog(cfg *serveConfig, log *slog.Logger) (*mcp.Catalog, error) {
	cat := mcp.NewCatalog(cfg.Name, log.With("component", "catalog"))
	if cfg.Demo {
		if err := cat.Add("demo", "", mcp.NewDemo(cfg.Name)); err != nil {
			return nil, fmt.Errorf("demo tools: %w", err)
		}
	}
	return cat, nil
}

// advertise is --advertise-url, or, when it was derived from an --http
// with port 0, the URL of the port actually bound.
func advertise(cfg *serveConfig, ln net.Listener) string {
	if !strings.HasSuffix(cfg.AdvertiseURL, ":0") {
		return cfg.AdvertiseURL
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return strings.TrimSuffix(cfg.AdvertiseURL, "0") + port
}

// loadServers reads the --config file of upstream servers ("" is none).
func loadServers(path string) ([]mcp.ServerConfig, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	servers, err := mcp.ParseServersFile(data)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return servers, nil
}

// storeCloseTimeout bounds closing the store at exit: a store that cannot
// flush (its directory removed, its disk gone) must not keep the process.
const storeCloseTimeout = 10 * time.Second

func closeStore(st *badgerstore.Store, log *slog.Logger) {
	done := make(chan error, 1)
	go func() { done <- st.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("closing store", "err", err)
			return
		}
		log.Info("store closed")
	case <-time.After(storeCloseTimeout):
		log.Error("closing store: gave up waiting", "timeout", storeCloseTimeout)
	}
}

func newLogger(cfg *serveConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("node", cfg.Name)
}
