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
	"time"

	"github.com/mcpmesh/mcpmesh/gateway"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

// closeConnsTimeout bounds closing the HTTP connections once the drain is
// over (idle keep-alive connections, answers being written).
const closeConnsTimeout = 2 * time.Second

// serve runs one node until ctx ends (SIGINT or SIGTERM), then drains it
// (see shutdown) and closes the store.
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
	tp, stopTracing, err := cfg.Trace.tracerProvider(ctx, cfg.Name, log)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	defer stopTracing() // after the drain: the last requests' spans are flushed
	audit, err := cfg.Audit.open()
	if err != nil {
		_ = ln.Close()
		return err
	}
	gw, err := gateway.New(gateway.Config{
		Name: cfg.Name, Version: version, URL: url, Listen: ln.Addr().String(), Secret: cfg.Secret,
		Store: st, Catalog: cat, Servers: servers, Logger: log,
		AllowedOrigins: cfg.AllowedOrigins, AllowedHosts: cfg.AllowedHosts, Node: rg.node, PeerTimeout: cfg.PeerTimeout, AutoTrust: cfg.AutoTrust,
		MaxSessions: cfg.MaxSessions, MaxSessionsPerPrincipal: cfg.MaxSessionsPerPrincipal,
		Bounds:          gateway.Bounds{MaxCatalogBytes: cfg.MaxCatalogBytes, MaxResultBytes: cfg.MaxResultBytes},
		UpstreamTimeout: cfg.UpstreamTimeout, Conns: cfg.Conns,
		InputTimeout: cfg.InputTimeout, MaxHeldRequests: cfg.MaxHeldRequests,
		Audit: audit, MaxRateLimiters: cfg.Audit.MaxRateLimiters,
		MetricsToken: cfg.MetricsToken, TLSRootCAs: cfg.TLS.roots, OAuth: cfg.OAuth,
		TracerProvider: tp,
	})
	if err != nil {
		if audit != nil {
			_ = audit.Close()
		}
		_ = ln.Close()
		return err
	}
	gw.JoinRing(cfg.Join)
	return serveHTTP(ctx, gw, httpsListener(ctx, cfg, gw.Listener(ln), log), drain{rg, cfg.DrainTimeout}, log)
}

// drain is what shutdown needs besides the gateway: the ring to leave and
// the bound on calls in flight (--drain-timeout).
type drain struct {
	ring    *ring
	timeout time.Duration
}

// serveHTTP serves HTTP on ln (gw.Listener's, which caps unauthenticated
// connections; under TLS with --tls-cert), starts the gateway's upstreams,
// waits for ctx to end and shuts down.
func serveHTTP(ctx context.Context, gw *gateway.Gateway, ln net.Listener, d drain, log *slog.Logger) error {
	srv := gw.HTTPServer() // with the connection deadlines
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("mcpmesh listening", "addr", ln.Addr().String(), "version", version)
	err := gw.Start(ctx)
	if err == nil {
		select {
		case <-ctx.Done():
			log.Info("draining: /ready and new requests answer 503", "drain_timeout", d.timeout)
		case err = <-served:
			err = fmt.Errorf("http server stopped: %w", err)
		}
	}
	shutdown(srv, gw, d, log)
	return err
}

// shutdown drains the node in order: the gateway refuses new requests
// with 503 (the listener stays open, so balancers see /ready 503) and waits
// up to d.timeout for calls in flight, ending streams; connections are
// closed (cutting calls still running); the node leaves the ring, so peers
// see it left, not dead; the upstreams stop last.
func shutdown(srv *http.Server, gw *gateway.Gateway, d drain, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	if n := gw.Drain(ctx); n > 0 {
		log.Warn("drain timeout: cutting calls still running", "calls", n, "drain_timeout", d.timeout)
		_ = srv.Close()
	} else {
		log.Info("drained: no call in flight")
		closeConns(srv, log)
	}
	d.ring.leave(log)
	if err := gw.Close(context.Background()); err != nil {
		log.Warn("gateway close", "err", err)
	}
}

// closeConns shuts the HTTP server down, closing what is still open after
// closeConnsTimeout.
func closeConns(srv *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), closeConnsTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown incomplete; closing connections", "err", err)
		_ = srv.Close()
	}
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
