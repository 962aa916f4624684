package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// seedInterval is the seeders' interval in these tests.
const seedInterval = 100 * time.Millisecond

// redisServer is a real redis-server on 127.0.0.1, killed by t.Cleanup.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

// newRedisServer picks a free port and a data dir; start runs the server.
func newRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (install it: apt-get install -y redis-server): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	t.Cleanup(r.kill)
	return r
}

// URL is the server's redis:// URL.
func (r *redisServer) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

// start runs redis-server and waits (bounded) until it answers PING.
func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--save", "", "--appendonly", "no",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := r.client()
	wait.For(r.t, 5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, "redis-server on port %d did not answer PING", r.port)
}

// kill stops the server with SIGKILL, if it runs.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// client returns a client of the server, closed by t.Cleanup.
func (r *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port), MaxRetries: -1})
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// logRecorder is a slog handler that keeps every record's level and message.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

// count returns how many records at level have a message starting with prefix.
func (l *logRecorder) count(level slog.Level, prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.HasPrefix(r.Message, prefix) {
			n++
		}
	}
	return n
}

const (
	outageLine    = "redis seed unavailable"
	connectedLine = "redis seed connected"
)

// seeded is a node with its Redis seeder and the seeder's logs.
type seeded struct {
	node *cluster.Node
	seed *cluster.RedisSeed
	logs *logRecorder
}

// startSeeded starts a node named name and seeds it only through url.
func startSeeded(t *testing.T, name, url string) seeded {
	t.Helper()
	node := clustertest.StartNode(t, clustertest.Config(name, memstore.New()))
	logs := &logRecorder{}
	seed, err := cluster.StartRedisSeed(context.Background(), node, url,
		cluster.RedisSeedOptions{Logger: slog.New(logs), Interval: seedInterval})
	if err != nil {
		t.Fatalf("start redis seed of %s: %v", name, err)
	}
	t.Cleanup(func() { _ = seed.Close() })
	return seeded{node: node, seed: seed, logs: logs}
}

// startSeededRing starts n seeded nodes named seed-0, seed-1, ...
func startSeededRing(t *testing.T, n int, url string) []seeded {
	t.Helper()
	out := make([]seeded, n)
	for i := range out {
		out[i] = startSeeded(t, fmt.Sprintf("seed-%d", i), url)
	}
	return out
}

func nodesOf(s []seeded) []*cluster.Node {
	nodes := make([]*cluster.Node, len(s))
	for i := range s {
		nodes[i] = s[i].node
	}
	return nodes
}

// waitLogged waits until every seeder logged line at level at least once.
func waitLogged(t *testing.T, s []seeded, level slog.Level, line string) {
	t.Helper()
	wait.For(t, 5*time.Second, func() bool {
		for _, x := range s {
			if x.logs.count(level, line) == 0 {
				return false
			}
		}
		return true
	}, "not every seeder logged %q", line)
}

// checkLogged fails unless every seeder logged line at level exactly want times.
func checkLogged(t *testing.T, s []seeded, level slog.Level, line string, want int) {
	t.Helper()
	for _, x := range s {
		if got := x.logs.count(level, line); got != want {
			t.Errorf("%s logged %q %d times, want %d", x.node.Name(), line, got, want)
		}
	}
}

func TestRedisSeedFormsRing(t *testing.T) {
	r := newRedisServer(t)
	r.start()
	start := time.Now()
	ring := startSeededRing(t, 3, r.URL())
	clustertest.WaitAllAlive(t, nodesOf(ring), 10*time.Second)
	t.Logf("ring of 3 via redis in %d ms", time.Since(start).Milliseconds())
	checkLogged(t, ring, slog.LevelWarn, outageLine, 0)
	waitLogged(t, ring, slog.LevelInfo, connectedLine)
}

func TestRedisSeedRedisDownAtStart(t *testing.T) {
	r := newRedisServer(t)
	ring := startSeededRing(t, 3, r.URL())
	waitLogged(t, ring, slog.LevelWarn, outageLine)
	for _, x := range ring {
		if n := len(x.node.Members()); n != 1 {
			t.Fatalf("%s has %d members before redis is up, want 1", x.node.Name(), n)
		}
	}
	r.start()
	clustertest.WaitAllAlive(t, nodesOf(ring), 10*time.Second)
	waitLogged(t, ring, slog.LevelInfo, connectedLine)
	checkLogged(t, ring, slog.LevelWarn, outageLine, 1)
	checkLogged(t, ring, slog.LevelInfo, connectedLine, 1)
}

func TestRedisSeedRedisKilledMidRun(t *testing.T) {
	r := newRedisServer(t)
	r.start()
	ring := startSeededRing(t, 3, r.URL())
	clustertest.WaitAllAlive(t, nodesOf(ring), 10*time.Second)
	waitLogged(t, ring, slog.LevelInfo, connectedLine)

	r.kill()
	waitLogged(t, ring, slog.LevelWarn, outageLine)
	clustertest.WaitAllAlive(t, nodesOf(ring), time.Second) // the ring stays

	r.start()
	ring = append(ring, startSeeded(t, "seed-3", r.URL()))
	clustertest.WaitAllAlive(t, nodesOf(ring), 10*time.Second)
	wait.For(t, 5*time.Second, func() bool {
		for _, x := range ring[:3] {
			if x.logs.count(slog.LevelInfo, connectedLine) < 2 {
				return false
			}
		}
		return true
	}, "the first three seeders did not log their reconnection")
	checkLogged(t, ring[:3], slog.LevelWarn, outageLine, 1)
}

func TestRedisSeedIgnoresGarbage(t *testing.T) {
	r := newRedisServer(t)
	r.start()
	c := r.client()
	lone := startSeeded(t, "lone", r.URL())
	ctx := context.Background()
	wait.For(t, 5*time.Second, func() bool {
		n, err := c.PubSubNumSub(ctx, cluster.DefaultRedisSeedChannel).Result()
		return err == nil && n[cluster.DefaultRedisSeedChannel] > 0
	}, "the seeder did not subscribe")

	garbage := []struct{ name, payload string }{
		{"not json", "hello"},
		{"json array", `["a","b"]`},
		{"empty object", `{}`},
		{"bad name", `{"name":"-x","gossip_address":"127.0.0.1:7946"}`},
		{"no port", `{"name":"x","gossip_address":"127.0.0.1"}`},
		{"port 0", `{"name":"x","gossip_address":"127.0.0.1:0"}`},
		{"port too big", `{"name":"x","gossip_address":"127.0.0.1:70000"}`},
		{"control in host", `{"name":"x","gossip_address":"a\nb:7946"}`},
		{"huge", `{"name":"x","gossip_address":"` + strings.Repeat("a", 1<<20) + `:1"}`},
		{"binary", "\x00\xff\xfe{"},
	}
	for _, g := range garbage {
		if err := c.Publish(ctx, cluster.DefaultRedisSeedChannel, g.payload).Err(); err != nil {
			t.Fatalf("publish %s: %v", g.name, err)
		}
	}
	if err := c.Set(ctx, cluster.DefaultRedisSeedKeyPrefix+"bogus", "garbage", time.Minute).Err(); err != nil {
		t.Fatalf("set a garbage key: %v", err)
	}
	wait.For(t, 5*time.Second, func() bool { return lone.seed.Dropped() > uint64(len(garbage)) },
		"the seeder did not drop the %d garbage messages and the garbage key (dropped %d)", len(garbage), wait.Later(func() any { return lone.seed.Dropped() }))
	if n := len(lone.node.Members()); n != 1 {
		t.Fatalf("garbage made the node join someone: %d members", n)
	}
	other := startSeeded(t, "other", r.URL()) // the seeder still works
	clustertest.WaitAllAlive(t, []*cluster.Node{lone.node, other.node}, 10*time.Second)
}

func TestRedisSeedRefusesBadInput(t *testing.T) {
	node := clustertest.StartNode(t, clustertest.Config("bad-input", memstore.New()))
	cases := []struct {
		name, url, want string
		opts            cluster.RedisSeedOptions
	}{
		{name: "scheme", url: "http://127.0.0.1:6379", want: "http://127.0.0.1:6379"},
		{name: "path", url: "redis://127.0.0.1:6379/a/b", want: "redis://127.0.0.1:6379/a/b"},
		{name: "unparsable", url: "redis://[::1", want: "redis://[::1"},
		{name: "password hidden", url: "redis://u:hunter2@127.0.0.1/x", want: "redis://u:xxxxx@127.0.0.1/x"},
		{name: "ttl", url: "redis://127.0.0.1:1", want: "key TTL",
			opts: cluster.RedisSeedOptions{Interval: time.Second, KeyTTL: time.Second}},
		{name: "interval", url: "redis://127.0.0.1:1", want: "interval", opts: cluster.RedisSeedOptions{Interval: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := cluster.StartRedisSeed(context.Background(), node, tc.url, tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatalf("StartRedisSeed(%q) succeeded, want an error", tc.url)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q does not name %q (or shows the password)", err, tc.want)
			}
		})
	}
}

func TestRedisSeedCloseWithoutRedisIsPrompt(t *testing.T) {
	r := newRedisServer(t) // never started
	x := startSeeded(t, "closer", r.URL())
	waitLogged(t, []seeded{x}, slog.LevelWarn, outageLine)
	start := time.Now()
	if err := x.seed.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v with redis down", d)
	}
	if err := x.seed.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
