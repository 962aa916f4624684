package mcp

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The states of an upstream server, as Status reports them.
const (
	// UpstreamConnecting: the first connection attempt is under way.
	UpstreamConnecting = "connecting"
	// UpstreamReady: connected and listed; calls are served.
	UpstreamReady = "ready"
	// UpstreamRestarting: it was ready once, its session ended (process
	// died, HTTP session lost, pings failed) and it is being reconnected.
	UpstreamRestarting = "restarting"
	// UpstreamFailed: it has never been ready and the last attempt failed
	// (Error says why); attempts go on with backoff.
	UpstreamFailed = "failed"
	// UpstreamStopped: Close was called.
	UpstreamStopped = "stopped"
)

// DefaultUpstreamProtocol is the protocol version offered to upstream
// servers unless UpstreamOptions.ProtocolVersion says otherwise.
const DefaultUpstreamProtocol = "2025-11-25"

// UpstreamOptions tune an Upstream. Zero values take the defaults.
type UpstreamOptions struct {
	Logger *slog.Logger
	// OnChange is called after the cached definitions changed, from a
	// background goroutine (possibly two at once), with no lock held.
	OnChange func()
	// MinBackoff and MaxBackoff bound the reconnection delay, which doubles
	// per failed attempt, with jitter (defaults 200ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient is the base client for a Streamable HTTP server; the
	// configured headers are added to every request it makes.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the transport that reaches a
	// Streamable HTTP server (HTTPClient's, else the upstream's own): the
	// node sends plain-http requests over its inline connections.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// ConnectTimeout bounds one attempt: connecting, the handshake and the
	// first listing (default 30s).
	ConnectTimeout time.Duration
	// CallTimeout bounds every request made to the server once it is
	// connected: calls (tools/call, prompts/get, resources/read,
	// completions, subscriptions) and re-listings. A call that runs over
	// is cancelled (the SDK sends notifications/cancelled) and answered
	// with an upstream_timeout failure naming the server (0: no bound).
	CallTimeout time.Duration
	// PingInterval is how often the session is pinged; failed pings end it
	// and it is reconnected (default 30s, negative disables).
	PingInterval time.Duration
	// ProtocolVersion is offered upstream (default DefaultUpstreamProtocol);
	// the gateway sets it from the entry's ServerConfig.ProtocolVersion.
	// On a 2025-11-25 session, server-initiated requests, logging/setLevel
	// and resource subscriptions relay one to one to legacy callers.
	// "2026-07-28" makes the SDK try server/discover first and fall back
	// to initialize; a server that takes it answers input_required itself.
	ProtocolVersion string
	// NoCallerMeta sends a 2026-07-28 caller's requests without its
	// per-request _meta triple, in the session's version only: for a
	// server that refuses a session request carrying one with an HTTP
	// error, which ends the session (an mcpmesh node of a release before
	// 2026-07-28, reached over a federation link).
	NoCallerMeta bool
	// UnreachableErrors makes a failure to reach the server an error
	// wrapping ErrUnreachable, instead of an isError result or an internal
	// error, so a caller (the federation layer) can tell it from the
	// server's own answers.
	UnreachableErrors bool
	// MaxCatalogBytes bounds the listing, as encoded JSON, and each page
	// read for it (default DefaultMaxCatalogBytes): entries past it are
	// left out, a page over it fails the listing.
	MaxCatalogBytes int64
	// MaxResultBytes bounds the answer to a call (default
	// DefaultMaxResultBytes): no more is read, and the caller is told
	// result_too_large (ErrResultTooLarge with UnreachableErrors).
	MaxResultBytes int64
	// OnTruncate is called once per listing and reason that left entries
	// out; OnTooLarge once per answer over MaxResultBytes.
	OnTruncate func(Truncation)
	OnTooLarge func()
	// OnListError is called when Status().ListError appears or clears,
	// with no lock held.
	OnListError func()
	// ListRetry is the first wait before a failed listing is tried again
	// (default 2 s); the wait doubles up to 30 s while it fails, so a
	// stale peer or upstream recovers without waiting for a list_changed.
	ListRetry time.Duration
	// StaleOnListError keeps a session whose first listing failed: it is
	// ready with the cached definitions, and Status().ListError says why.
	// Without it such an attempt fails and is retried.
	StaleOnListError bool
	// Holds is the node's table of held calls, shared by its upstreams
	// (nil: a table of the upstream's own, with the default bounds).
	Holds *Holds
	// Initial seeds the cached definitions (a catalog kept from an earlier
	// run): Snapshot serves them until the first listing replaces them,
	// and OnChange runs then only if the listing differs.
	Initial Definitions
	// Tracing, if set, makes a client span of each call and sends its
	// trace context in params._meta (and, over HTTP, in the traceparent
	// header); nil: none.
	Tracing *Tracing
}

// ErrUnreachable is wrapped by Call's error when the server could not be
// reached and UpstreamOptions.UnreachableErrors is set.
var ErrUnreachable = errors.New("server unreachable")

func (o *UpstreamOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.ListRetry <= 0 {
		o.ListRetry = 2 * time.Second
	}
	if o.PingInterval == 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxCatalogBytes <= 0 {
		o.MaxCatalogBytes = DefaultMaxCatalogBytes
	}
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	if o.ProtocolVersion == "" {
		o.ProtocolVersion = DefaultUpstreamProtocol
	}
}

// UpstreamStatus is what an operator sees of an upstream server.
type UpstreamStatus struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	State     string `json:"state"`
	Error     string `json:"error,omitempty"`
	// ListError says why the last listing failed (the previous
	// definitions are kept); empty once one succeeds.
	ListError         string `json:"list_error,omitempty"`
	ProtocolVersion   string `json:"protocol_version,omitempty"`
	Tools             int    `json:"tools"`
	Prompts           int    `json:"prompts"`
	Resources         int    `json:"resources"`
	ResourceTemplates int    `json:"resource_templates"`
	// Restarts counts the connection attempts after the first.
	Restarts int `json:"restarts"`
	// Since is when State (or Error) last changed.
	Since time.Time `json:"since"`
	// PID is the stdio server's process id while it runs.
	PID int `json:"pid,omitempty"`
}

// Upstream is one upstream MCP server, reached with the official go-sdk
// client over stdio or Streamable HTTP, and kept connected by a supervisor.
// It implements [Source].
//
// When its session ends, its cached definitions stay listed until it is
// reconnected (then they are replaced by the new listing): a restarting
// server's tools do not vanish and reappear for every crash, and calls made
// meanwhile get a clear "not connected" answer naming the server.
type Upstream struct {
	cfg    ServerConfig
	opts   UpstreamOptions
	log    *slog.Logger
	client *sdk.Client
	http   *http.Client
	own    *http.Transport // the transport of http, unless opts.HTTPClient brought one
	// idle closes the idle connections of the transport the upstream
	// reaches its server through (own's, or what opts.WrapTransport made
	// of it); nil: none of its own.
	idle func()

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	held   *workers // run the calls of 2026-07-28 callers (see goHeld)
	start  sync.Once
	ready  chan struct{} // closed at the first outcome: ready or failed
	relist chan struct{}

	mu       sync.Mutex
	closed   bool
	readyErr error
	status   UpstreamStatus
	defs     Definitions
	sess     *sdk.ClientSession
	proc     *upProc
	pending  upKinds // kinds to re-list, see requestRelist
	everUp   bool
	signaled bool // ready has been closed

	calls upInflight
	holds *Holds
	// plainMeta is the session whose server refused a caller's 2026-07-28
	// _meta (see sendCall).
	plainMeta atomic.Pointer[sdk.ClientSession]
	subs      upSubs
	order     upOrder
}

var _ Source = (*Upstream)(nil)

// errUpstreamClosed is the outcome of an upstream closed before it was ready.
var errUpstreamClosed = errors.New("upstream closed")

// NewUpstream returns an upstream for cfg (which should have passed
// Validate). Nothing runs until Start.
func NewUpstream(cfg ServerConfig, opts UpstreamOptions) *Upstream {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	u := &Upstream{
		cfg: cfg, opts: opts, ctx: ctx, cancel: cancel,
		log:    opts.Logger.With("upstream", cfg.Name),
		ready:  make(chan struct{}),
		relist: make(chan struct{}, 1),
		status: UpstreamStatus{Name: cfg.Name, Transport: cfg.Transport(), State: UpstreamConnecting, Since: time.Now()},
		defs:   opts.Initial,
		holds:  opts.Holds,
	}
	if u.holds == nil {
		u.holds = NewHolds(0, 0)
	}
	u.held = newWorkers(ctx.Done(), &u.wg)
	if opts.HTTPClient == nil || opts.HTTPClient.Transport == nil {
		u.own = newUpTransport()
	}
	u.http, u.idle = upHTTPClient(opts.HTTPClient, u.own, opts.WrapTransport, cfg.Headers, u.order.saw, max(opts.MaxCatalogBytes, opts.MaxResultBytes), opts.Tracing)
	u.client = u.newClient()
	return u
}

// Name is the configured name of the server.
func (u *Upstream) Name() string { return u.cfg.Name }

// Config is the configuration the upstream was made from.
func (u *Upstream) Config() ServerConfig { return u.cfg }

// Start launches the supervisor and returns at once; later calls do
// nothing. When ctx ends the upstream stops as if closed (Close still waits
// for it).
func (u *Upstream) Start(ctx context.Context) {
	u.start.Do(func() {
		stop := context.AfterFunc(ctx, u.cancel)
		if !u.goFn(func() { <-u.ctx.Done(); stop() }) {
			stop() // closed before it started
			return
		}
		u.goFn(u.supervise)
		u.goFn(u.relister)
	})
}

// Reconnect ends the current session, if any, so that the supervisor
// reconnects with its backoff; Status says restarting until it is back. A
// caller that found the server unreachable uses it rather than wait for
// the session's own failure detection (~20 s of SSE retries).
func (u *Upstream) Reconnect() {
	if sess := u.session(); sess != nil {
		u.goFn(func() { _ = sess.Close() })
	}
}

// WaitReady blocks until the first attempt succeeded (nil) or failed (its
// error), or ctx ends.
func (u *Upstream) WaitReady(ctx context.Context) error {
	select {
	case <-u.ready:
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.readyErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the supervisor, ends the session (and the process) and waits
// for every goroutine of the upstream. Calls in flight are cancelled.
func (u *Upstream) Close() error {
	u.mu.Lock()
	already := u.closed
	u.closed = true
	u.mu.Unlock()
	u.cancel()
	u.wg.Wait()
	if u.idle != nil {
		u.idle()
	}
	if !already {
		u.stopped() // in case it never started
	}
	return nil
}

func (u *Upstream) stopped() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.setStateLocked(UpstreamStopped, "")
	u.signalLocked(errUpstreamClosed)
}

// goFn runs f on a goroutine the upstream owns, unless it is closed.
func (u *Upstream) goFn(f func()) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		f()
	}()
	return true
}

// goHeld runs f on one of the upstream's workers, unless it is closed: a
// held call goes down the go-sdk client on a stack an earlier call already
// grew, where a fresh goroutine copied its stack as it went (see workers).
func (u *Upstream) goHeld(f func()) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.held.run(f)
	return true
}

// Status reports the upstream's state and counts.
func (u *Upstream) Status() UpstreamStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.status
	s.PID = u.proc.pid()
	s.Tools, s.Prompts = len(u.defs.Tools), len(u.defs.Prompts)
	s.Resources, s.ResourceTemplates = len(u.defs.Resources), len(u.defs.ResourceTemplates)
	return s
}

// Snapshot returns the cached definitions; it never waits on I/O.
func (u *Upstream) Snapshot() Definitions {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.defs
}

func (u *Upstream) setStateLocked(state, errText string) {
	if u.status.State != state || u.status.Error != errText {
		u.status.Since = time.Now()
	}
	u.status.State, u.status.Error = state, errText
}

// signalLocked records the first outcome for WaitReady.
func (u *Upstream) signalLocked(err error) {
	if !u.signaled {
		u.signaled, u.readyErr = true, err
		close(u.ready)
	}
}

// supervise connects, serves until the session ends, and reconnects with
// exponential backoff and jitter until Close.
func (u *Upstream) supervise() {
	defer u.stopped()
	delay := u.opts.MinBackoff
	for attempt := 0; u.ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			u.mu.Lock()
			u.status.Restarts++
			u.mu.Unlock()
		}
		sess, err := u.connect()
		if err == nil {
			began := time.Now()
			u.serve(sess)
			if time.Since(began) >= u.opts.MaxBackoff {
				delay = u.opts.MinBackoff // it was stable: start over
			}
		}
		if u.ctx.Err() != nil {
			return
		}
		if err != nil {
			u.down(err)
		}
		if !u.sleep(upJitter(delay)) {
			return
		}
		delay = min(2*delay, u.opts.MaxBackoff)
	}
}

// down records a failed attempt or an ended session. A failure that
// repeats the previous one is logged at debug level only.
func (u *Upstream) down(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.downLocked(err)
}

func (u *Upstream) downLocked(err error) {
	if u.status.State == UpstreamReady || u.status.Error != err.Error() {
		u.log.Warn("upstream down", "err", err)
	} else {
		u.log.Debug("upstream still down", "err", err, "restarts", u.status.Restarts)
	}
	state := UpstreamFailed
	if u.everUp {
		state = UpstreamRestarting
	}
	u.setStateLocked(state, err.Error())
	u.signalLocked(err)
}

func (u *Upstream) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-u.ctx.Done():
		return false
	}
}

// upJitter spreads d over [d/2, d].
func upJitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}
