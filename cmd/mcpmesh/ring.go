package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
)

// leaveTimeout bounds the graceful leave at shutdown.
const leaveTimeout = 3 * time.Second

// ring is the node's membership and, with --redis, its seeder.
type ring struct {
	node *cluster.Node
	seed *cluster.RedisSeed
	left sync.Once
}

// startRing starts the node's gossip membership, advertising url and the
// catalog's digest, and keeps the digest current.
func startRing(ctx context.Context, cfg *serveConfig, st store.Store, cat *mcp.Catalog, url string, log *slog.Logger) (*ring, error) {
	key, err := gossipKey(cfg)
	if err != nil {
		return nil, err
	}
	bind := cfg.Gossip
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	node, err := cluster.Start(ctx, cluster.Config{
		Name: cfg.Name, BindAddr: bind, AdvertiseAddr: cfg.GossipAdvertise, SecretKey: key, ResetKeyring: cfg.ResetKeyring, Store: st,
		Logger:  log,
		Meta:    cluster.NodeMeta{URL: url, Version: version, CatalogDigest: cat.Digest()},
		Timings: cluster.Timings{ReconnectTimeout: cfg.ReconnectTimeout},
	})
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %w", bind, err)
	}
	changed := make(chan struct{}, 1)
	cat.OnChange(func() {
		select {
		case changed <- struct{}{}:
		default: // a gossip of the newest digest is already due
		}
	})
	go gossipDigests(ctx, node, cat, changed, log)
	log.Info("gossip up", "gossip_address", node.GossipAddr())
	seed, err := startSeed(ctx, cfg, node, log)
	if err != nil {
		_ = node.Shutdown()
		return nil, err
	}
	return &ring{node: node, seed: seed}, nil
}

// startSeed starts announcing the node in Redis and joining the nodes
// announced there, when --redis is given. Redis being down is no error
// (the seeder logs it and retries); a malformed URL is.
func startSeed(ctx context.Context, cfg *serveConfig, node *cluster.Node, log *slog.Logger) (*cluster.RedisSeed, error) {
	if cfg.Redis == "" {
		return nil, nil
	}
	redis.SetLogger(redisClientLogs{log: log}) // process-wide: go-redis has one logger
	seed, err := cluster.StartRedisSeed(ctx, node, cfg.Redis, cluster.RedisSeedOptions{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	return seed, nil
}

// redisClientLogs puts go-redis's own log lines (one per failed dial) at
// debug level: the seeder logs each outage once itself.
type redisClientLogs struct{ log *slog.Logger }

func (l redisClientLogs) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "redis-client")
}

// healthEvery is how often the node looks at its own services' upstreams
// for a change of their health to gossip (it asks no other node).
const healthEvery = 100 * time.Millisecond

// gossipDigests puts the catalog's newest digest in the node's meta after
// each change, and the health of its services' upstreams when it changes
// (federation.HealthDigest), off the caller's goroutine (an update may
// wait on gossip).
func gossipDigests(ctx context.Context, node *cluster.Node, cat *mcp.Catalog, changed <-chan struct{}, log *slog.Logger) {
	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			if err := node.SetCatalogDigest(cat.Digest()); err != nil && ctx.Err() == nil {
				log.Warn("gossiping the catalog digest", "err", err)
			}
		case <-tick.C:
		}
		if err := node.SetServiceHealth(federation.HealthDigest(cat.Services())); err != nil && ctx.Err() == nil {
			log.Warn("gossiping the service health", "err", err)
		}
	}
}

// gossipKey is --gossip-key, else a key derived from the JWT secret, so
// nodes that share the secret share an encrypted ring. A keyring stored by
// `mcpmesh keyring` wins over both (see cluster.Config.SecretKey).
func gossipKey(cfg *serveConfig) ([]byte, error) {
	if cfg.GossipKey == "" {
		return cluster.DeriveKey(cfg.Secret), nil
	}
	key, err := cluster.ParseKey(cfg.GossipKey)
	if err != nil {
		return nil, fmt.Errorf("--gossip-key: %w", err)
	}
	return key, nil
}

// leave stops the seeder, then leaves the ring and shuts gossip down. The
// second call does nothing.
func (r *ring) leave(log *slog.Logger) {
	r.left.Do(func() { r.leaveOnce(log) })
}

func (r *ring) leaveOnce(log *slog.Logger) {
	if r.seed != nil {
		_ = r.seed.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if err := r.node.Close(ctx); err != nil {
		log.Warn("leaving the ring", "err", err)
	}
}
