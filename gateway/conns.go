package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of ConnLimits (docs/limits.md, "Connections").
const (
	DefaultReadTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultIdleTimeout     = 120 * time.Second
	DefaultSSEKeepAlive    = 15 * time.Second
	DefaultMaxUnauthConns  = 32
	DefaultUpstreamTimeout = 60 * time.Second
	// headerTimeout bounds a request's headers (or the read timeout, if
	// shorter).
	headerTimeout = 10 * time.Second
)

// ConnLimits bound the node's HTTP connections: in time, and before they
// authenticate in number per client address. Zero values take the defaults;
// negative ones are refused.
type ConnLimits struct {
	// ReadTimeout bounds the arrival of a request's body, from the end of
	// its headers.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer once it begins, and writing
	// each event of an SSE stream (a stream as a whole has no bound).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// SSEKeepAlive is how often an open SSE stream gets a comment line.
	SSEKeepAlive time.Duration
	// MaxUnauthenticated is how many connections one client address may
	// hold that have not carried a request with a valid token; more are
	// answered 429 and closed at once.
	MaxUnauthenticated int
}

func (l *ConnLimits) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&l.ReadTimeout, DefaultReadTimeout)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	def(&l.SSEKeepAlive, DefaultSSEKeepAlive)
	if l.MaxUnauthenticated == 0 {
		l.MaxUnauthenticated = DefaultMaxUnauthConns
	}
}

func (l ConnLimits) check() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read timeout", l.ReadTimeout}, {"write timeout", l.WriteTimeout}, {"idle timeout", l.IdleTimeout}, {"sse keep-alive", l.SSEKeepAlive}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s must not be negative", d.name, d.v))
		}
	}
	if l.MaxUnauthenticated < 0 {
		errs = append(errs, fmt.Errorf("max unauthenticated connections %d must not be negative", l.MaxUnauthenticated))
	}
	return errors.Join(errs...)
}

// HTTPServer is the http.Server of the gateway: its Handler with the
// header and idle deadlines of ConnLimits, and the connection context the
// cap of unauthenticated connections needs. Serve it on Listener(ln).
// (The body and write deadlines are set per request by the handler: a
// server-wide ReadTimeout or WriteTimeout would end SSE streams.)
func (g *Gateway) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: min(headerTimeout, g.conns.ReadTimeout),
		IdleTimeout:       g.conns.IdleTimeout,
		ConnContext:       capConnContext,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// Listener wraps ln with the cap of unauthenticated connections per client
// address (ConnLimits.MaxUnauthenticated).
func (g *Gateway) Listener(ln net.Listener) net.Listener {
	return &capListener{Listener: ln, cap: g.connCap}
}

// connCap counts, per client address, the connections that have not yet
// carried an authenticated request.
type connCap struct {
	max      int
	log      *slog.Logger
	mu       sync.Mutex
	byHost   map[string]int
	refusing chan struct{} // bounds the goroutines answering refused connections
	refused  prometheus.Counter
	open     prometheus.Gauge
}

// maxRefusing bounds the refused connections answered at once; beyond it
// they are closed without an answer.
const maxRefusing = 256

func newConnCap(max int, log *slog.Logger, reg *prometheus.Registry) *connCap {
	c := &connCap{max: max, log: log, byHost: map[string]int{}, refusing: make(chan struct{}, maxRefusing),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpmesh_http_connections_refused_total",
			Help: "Connections refused because their client address held too many unauthenticated connections."}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mcpmesh_http_unauthenticated_connections",
			Help: "Open connections that have not yet carried an authenticated request."}),
	}
	reg.MustRegister(c.refused, c.open)
	return c
}

// enter counts a new connection from host, unless host is at the cap.
func (c *connCap) enter(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHost[host] >= c.max {
		return false
	}
	c.byHost[host]++
	c.open.Inc()
	return true
}

// leave uncounts a connection of host (authenticated or closed).
func (c *connCap) leave(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHost[host]--; c.byHost[host] <= 0 {
		delete(c.byHost, host)
	}
	c.open.Dec()
}

// capListener applies a connCap to the connections it accepts.
type capListener struct {
	net.Listener
	cap *connCap
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := clientHost(nc.RemoteAddr())
		if l.cap.enter(host) {
			return &capConn{Conn: nc, cap: l.cap, host: host}, nil
		}
		l.cap.refuse(nc, host)
	}
}

func clientHost(a net.Addr) string {
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// capConn is an accepted connection, counted until it authenticates or
// closes.
type capConn struct {
	net.Conn
	cap     *connCap
	host    string
	release sync.Once
}

// authenticated uncounts the connection: a request on it passed auth.
func (c *capConn) authenticated() { c.release.Do(func() { c.cap.leave(c.host) }) }

func (c *capConn) Close() error {
	c.authenticated()
	return c.Conn.Close()
}

type capConnKey struct{}

// capConnContext is the http.Server's ConnContext: it lets authenticate
// find the connection a request came on (under TLS, the one beneath it).
func capConnContext(ctx context.Context, nc net.Conn) context.Context {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*capConn); ok {
		return context.WithValue(ctx, capConnKey{}, c)
	}
	return ctx
}

// markAuthenticated takes the connection of ctx's request out of the count.
func markAuthenticated(ctx context.Context) {
	if c, ok := ctx.Value(capConnKey{}).(*capConn); ok {
		c.authenticated()
	}
}
