package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of RedisSeedOptions.
const (
	DefaultRedisSeedInterval  = 5 * time.Second
	DefaultRedisSeedChannel   = "mcpmesh:seed"
	DefaultRedisSeedKeyPrefix = "mcpmesh:seed:"

	maxSeedAnnouncement = 1024 // bytes; larger messages and values are dropped
	maxSeedScanKeys     = 1024 // keys read per scan
	maxSeedJoins        = 16   // join attempts per interval
	seedQueue           = 64   // announcements waiting to be joined
)

// RedisSeedOptions configures StartRedisSeed; zero fields take defaults.
type RedisSeedOptions struct {
	// Logger receives the seeder's logs; nil discards them.
	Logger *slog.Logger
	// Interval is how often the node announces itself and scans the keys
	// (default DefaultRedisSeedInterval).
	Interval time.Duration
	// KeyTTL is the lifetime of the node's key (default 3 × Interval); it
	// must be longer than Interval.
	KeyTTL time.Duration
	// Channel is the Pub/Sub channel of announcements (default
	// DefaultRedisSeedChannel).
	Channel string
	// KeyPrefix prefixes each node's key, KeyPrefix+name (default
	// DefaultRedisSeedKeyPrefix).
	KeyPrefix string
}

// withDefaults fills the zero fields and checks the others.
func (o RedisSeedOptions) withDefaults() (RedisSeedOptions, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval == 0 {
		o.Interval = DefaultRedisSeedInterval
	}
	if o.KeyTTL == 0 {
		o.KeyTTL = 3 * o.Interval
	}
	if o.Channel == "" {
		o.Channel = DefaultRedisSeedChannel
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultRedisSeedKeyPrefix
	}
	switch {
	case o.Interval < 10*time.Millisecond:
		return o, fmt.Errorf("interval %v is below 10ms", o.Interval)
	case o.KeyTTL <= o.Interval:
		return o, fmt.Errorf("key TTL %v must be longer than the interval %v", o.KeyTTL, o.Interval)
	}
	return o, nil
}

// seedAnnouncement is what a node publishes and stores under its key.
type seedAnnouncement struct {
	Name string `json:"name"`
	Addr string `json:"gossip_address"`
}

// RedisSeed helps nodes find each other through Redis: it announces the
// node's gossip address on a channel and in a short-lived key, and joins
// the addresses other nodes announce. The ring never depends on it: with
// Redis down the seeder logs once per outage and retries with backoff.
type RedisSeed struct {
	node    *Node
	opts    RedisSeedOptions
	log     *slog.Logger
	rdb     *redis.Client
	self    seedAnnouncement
	joins   chan seedAnnouncement
	kickNow chan struct{}
	health  *seedHealth
	dropped atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	psMu   sync.Mutex
	ps     *redis.PubSub
	once   sync.Once
}

// StartRedisSeed starts seeding node's ring through the Redis at redisURL
// ("redis://[user:password@]host:port[/db]", or rediss:// for TLS). It does
// no network I/O itself and never blocks; a malformed URL or bad options
// are an error at once. The seeder runs until Close or until ctx ends.
func StartRedisSeed(ctx context.Context, node *Node, redisURL string, opts RedisSeedOptions) (*RedisSeed, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cluster: redis seed: %w", err)
	}
	ro, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis seed: bad redis URL %q: %w", redactURL(redisURL), err)
	}
	tuneRedis(ro)
	s := &RedisSeed{
		node: node, opts: o, rdb: redis.NewClient(ro),
		log:   o.Logger.With("component", "redis-seed", "redis", ro.Addr),
		self:  seedAnnouncement{Name: node.Name(), Addr: node.GossipAddr()},
		joins: make(chan seedAnnouncement, seedQueue), kickNow: make(chan struct{}, 1),
	}
	s.health = &seedHealth{log: s.log}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(3)
	go s.subscribeLoop()
	go s.announceLoop()
	go s.joinLoop()
	return s, nil
}

// tuneRedis makes every Redis call a single bounded attempt: the seeder's
// own loops retry, with backoff.
func tuneRedis(o *redis.Options) {
	o.MaxRetries, o.DialerRetries = -1, 1
	if o.DialTimeout <= 0 || o.DialTimeout > 2*time.Second {
		o.DialTimeout = 2 * time.Second
	}
	o.ContextTimeoutEnabled = true
	o.PoolSize = 2
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// redactURL hides a password in a URL that parses.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// Dropped returns how many malformed announcements (from the channel or
// the keys) were dropped.
func (s *RedisSeed) Dropped() uint64 { return s.dropped.Load() }

// Close stops the seeder, deletes the node's key (best effort, within a
// second) and closes the Redis client. It is safe to call more than once.
func (s *RedisSeed) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.psMu.Lock()
		if s.ps != nil {
			_ = s.ps.Close()
		}
		s.psMu.Unlock()
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.rdb.Del(ctx, s.opts.KeyPrefix+s.self.Name).Err()
		_ = s.rdb.Close()
	})
	return nil
}

// opTimeout bounds one Redis round of the announce loop.
func (s *RedisSeed) opTimeout() time.Duration {
	return min(max(s.opts.Interval, 500*time.Millisecond), 3*time.Second)
}

// announceLoop announces the node and scans the keys every Interval, or
// with growing backoff while Redis fails.
func (s *RedisSeed) announceLoop() {
	defer s.wg.Done()
	back := &seedBackoff{interval: s.opts.Interval}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		case <-s.kickNow:
		}
		err := s.announceAndScan()
		if s.ctx.Err() != nil {
			return
		}
		s.health.report(&s.health.announced, err)
		timer.Reset(back.next(err))
	}
}

// announceAndScan stores and publishes the announcement, then reads every
// node's key.
func (s *RedisSeed) announceAndScan() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opTimeout())
	defer cancel()
	b, _ := json.Marshal(s.self) // a struct of strings always encodes
	if err := s.rdb.Set(ctx, s.opts.KeyPrefix+s.self.Name, b, s.opts.KeyTTL).Err(); err != nil {
		return fmt.Errorf("set key: %w", err)
	}
	if err := s.rdb.Publish(ctx, s.opts.Channel, b).Err(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return s.scan(ctx)
}

// scan reads up to maxSeedScanKeys keys under the prefix and offers their
// announcements.
func (s *RedisSeed) scan(ctx context.Context) error {
	var cursor uint64
	for seen := 0; seen < maxSeedScanKeys; {
		keys, next, err := s.rdb.Scan(ctx, cursor, globEscape(s.opts.KeyPrefix)+"*", 100).Result()
		if err != nil {
			return fmt.Errorf("scan keys: %w", err)
		}
		if err := s.readKeys(ctx, keys); err != nil {
			return err
		}
		seen += len(keys)
		if cursor = next; cursor == 0 {
			return nil
		}
	}
	return nil
}

// readKeys offers the announcements stored under keys.
func (s *RedisSeed) readKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("read keys: %w", err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // expired between SCAN and MGET
		}
		s.consider(keys[i], str, strings.TrimPrefix(keys[i], s.opts.KeyPrefix))
	}
	return nil
}

// globEscape escapes the glob characters of Redis's MATCH.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// subscribeLoop keeps a subscription to the channel, resubscribing with
// backoff after each failure.
func (s *RedisSeed) subscribeLoop() {
	defer s.wg.Done()
	back := &seedBackoff{interval: s.opts.Interval}
	for s.ctx.Err() == nil {
		err := s.subscribeOnce()
		if s.ctx.Err() != nil {
			return
		}
		s.health.report(&s.health.subscribed, err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(back.next(err)):
		}
	}
}

// subscribeOnce subscribes and receives until the connection fails.
func (s *RedisSeed) subscribeOnce() error {
	ps := s.rdb.Subscribe(s.ctx)
	s.psMu.Lock()
	if s.ctx.Err() != nil {
		s.psMu.Unlock()
		return s.ctx.Err()
	}
	s.ps = ps
	s.psMu.Unlock()
	defer ps.Close()
	ctx, cancel := context.WithTimeout(s.ctx, s.opTimeout())
	err := ps.Subscribe(ctx, s.opts.Channel)
	if err == nil {
		_, err = ps.ReceiveTimeout(ctx, s.opTimeout()) // the confirmation
	}
	cancel()
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	s.health.report(&s.health.subscribed, nil)
	kick(s.kickNow) // announce and scan at once: we may have missed some
	return s.receive(ps)
}

// receive handles messages until the connection fails; a silence of two
// intervals is answered by a ping, and a second one is a failure.
func (s *RedisSeed) receive(ps *redis.PubSub) error {
	silent := 0
	for s.ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(s.ctx, 2*s.opts.Interval)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if silent++; silent > 1 {
				return fmt.Errorf("receive: no reply from redis in %v", 4*s.opts.Interval)
			}
			if err := ps.Ping(s.ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		silent = 0
		if m, ok := msg.(*redis.Message); ok {
			s.consider(s.opts.Channel, m.Payload, "")
		}
	}
	return nil
}

// consider offers the announcement raw, read from where (the channel or a
// key); a malformed one, or one not of wantName when that is set, is
// counted and dropped.
func (s *RedisSeed) consider(where, raw, wantName string) {
	a, err := parseSeedAnnouncement(raw)
	if err == nil && wantName != "" && a.Name != wantName {
		err = fmt.Errorf("name %q does not match the key", a.Name)
	}
	if err != nil {
		s.dropped.Add(1)
		s.log.Debug("dropped a malformed seed announcement", "from", where, "err", err)
		return
	}
	s.offer(a)
}

// offer queues an announcement of another node for the join loop; when
// the queue is full it is dropped (the next scan offers it again).
func (s *RedisSeed) offer(a seedAnnouncement) {
	if a.Name == s.self.Name || a.Addr == s.self.Addr {
		return
	}
	select {
	case s.joins <- a:
	default:
	}
}

// parseSeedAnnouncement decodes and checks an announcement.
func parseSeedAnnouncement(raw string) (seedAnnouncement, error) {
	var a seedAnnouncement
	if len(raw) > maxSeedAnnouncement {
		return a, fmt.Errorf("announcement of %d bytes is over %d", len(raw), maxSeedAnnouncement)
	}
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, fmt.Errorf("announcement is not a JSON object: %w", err)
	}
	if err := checkName(a.Name); err != nil {
		return a, err
	}
	return a, checkSeedAddr(a.Addr)
}

// checkSeedAddr accepts host:port with a port in 1–65535 and a host of
// printable characters.
func checkSeedAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("gossip address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("gossip address %q: port must be 1-65535", addr)
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("gossip address %q: bad host", addr)
	}
	return nil
}

// joinLoop joins the announced addresses that are not alive members, each
// at most once per interval and at most maxSeedJoins per interval.
func (s *RedisSeed) joinLoop() {
	defer s.wg.Done()
	tried := map[string]time.Time{}
	window, used := time.Now(), 0
	for {
		var a seedAnnouncement
		select {
		case <-s.ctx.Done():
			return
		case a = <-s.joins:
		}
		now := time.Now()
		if now.Sub(window) >= s.opts.Interval {
			window, used = now, 0
			pruneTried(tried, now, s.opts.Interval)
		}
		if used >= maxSeedJoins || now.Sub(tried[a.Addr]) < s.opts.Interval || s.isAliveAddr(a.Addr) {
			continue
		}
		tried[a.Addr], used = now, used+1
		s.join(a)
	}
}

// pruneTried forgets attempts older than an interval.
func pruneTried(tried map[string]time.Time, now time.Time, interval time.Duration) {
	for addr, at := range tried {
		if now.Sub(at) >= interval {
			delete(tried, addr)
		}
	}
}

// isAliveAddr reports whether an alive member has gossip address addr.
func (s *RedisSeed) isAliveAddr(addr string) bool {
	for _, m := range s.node.Members() {
		if m.Addr == addr && m.State == StateAlive {
			return true
		}
	}
	return false
}

// join contacts one announced node.
func (s *RedisSeed) join(a seedAnnouncement) {
	if _, err := s.node.Join([]string{a.Addr}); err != nil {
		if !errors.Is(err, ErrShutdown) {
			s.log.Debug("joining an announced node failed", "member", a.Name, "gossip_address", a.Addr, "err", err)
		}
		return
	}
	s.log.Info("joined a node announced in redis", "member", a.Name, "gossip_address", a.Addr)
}

// seedBackoff is the delay before the next attempt: Interval after a
// success; after failures, from Interval/2 doubling to 6 × Interval.
type seedBackoff struct {
	interval, cur time.Duration
}

// next returns the delay after an attempt that ended with err.
func (b *seedBackoff) next(err error) time.Duration {
	if err == nil {
		b.cur = 0
		return b.interval
	}
	b.cur = min(max(2*b.cur, b.interval/2), 6*b.interval)
	return b.cur
}

// seedHealth logs Redis's availability once per change: a warning when an
// outage starts, a note when both the announcements and the subscription
// work again.
type seedHealth struct {
	log *slog.Logger

	mu         sync.Mutex
	announced  bool
	subscribed bool
	down, up   bool // an outage / a working connection was logged last
}

// report records the outcome of one part (announced or subscribed).
func (h *seedHealth) report(part *bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	*part = err == nil
	switch {
	case err != nil && !h.down:
		h.down, h.up = true, false
		h.log.Warn("redis seed unavailable; retrying with backoff (the ring works without it)", "err", err)
	case h.announced && h.subscribed && !h.up:
		h.down, h.up = false, true
		h.log.Info("redis seed connected: announcing this node and joining the nodes announced")
	}
}
