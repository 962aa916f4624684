package mcp

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol versions this server speaks, newest first. A client that offers
// one of them gets it; a client that offers anything else gets the newest.
var SupportedVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

// CallInfo describes one finished request, for metrics and logs.
type CallInfo struct {
	Method   string        // e.g. "tools/call"
	Name     string        // the tool or prompt name, or resource URI; "" for others
	Duration time.Duration // time to answer
	// Outcome is "ok", "tool_error" (a result with isError), "error" (a
	// JSON-RPC error) or OutcomeCancelled (no answer: the client cancelled
	// the request or left).
	Outcome string
	// Meta holds the result's _meta["mcpmesh/source"] and
	// _meta["mcpmesh/error"] (or a JSON-RPC error's data's), when it has
	// them (nil otherwise).
	Meta map[string]any
	// Code is the JSON-RPC error code when Outcome is "error".
	Code int
	// ID is the request's JSON-RPC id.
	ID json.RawMessage
	// Principal is who made the request; Relayed marks a request another
	// node sent for its caller (see WithRelayed).
	Principal Principal
	Relayed   bool
	// Source and Provider are what the backend noted (NoteSource): the
	// peer or service that served the request and the node that ran it;
	// "" when nothing was noted (the node's own entries, unknown names).
	Source, Provider string
	// Denied is set when an access rule refused the request (NoteDenied).
	Denied bool
	// Cancelled is set when the client had cancelled the request or left
	// by the time it was answered (Outcome then says how the backend
	// ended it, or is OutcomeCancelled when it gave up with the client).
	Cancelled bool
}

// ServerOptions configure a Server. Zero values take the defaults.
type ServerOptions struct {
	Name string // serverInfo.name of initialize (default "mcpmesh")
	// NodeName is the name in the serverInfo of 2026-07-28 results: the
	// node's name (default Name).
	NodeName     string
	Version      string // serverInfo.version
	Instructions string
	Logger       *slog.Logger
	// PageSize is the number of entries per list page (default 100).
	PageSize int
	// AllowedOrigins are browser origins allowed besides none: a request
	// with any other Origin header is refused with 403.
	AllowedOrigins []string
	// AllowedHosts are Host header values allowed besides loopback names
	// (localhost, 127.0.0.1, [::1], with any port): others get 403. An
	// entry is a name or IP (IPv6 in brackets), matched ignoring case, on
	// any port unless it gives one (see CheckAllowedHost).
	AllowedHosts []string
	// SessionIdle ends sessions unused for this long (default 30 min).
	SessionIdle time.Duration
	// MaxSessionsPerPrincipal bounds one Principal's sessions (default
	// DefaultMaxSessionsPerPrincipal); MaxSessions bounds all clients'
	// sessions (default DefaultMaxSessions) and MaxNodeSessions those of
	// Node principals, apart (default MaxSessions). At a bound, initialize
	// evicts the least recently used session under it that has nothing
	// attached; if there is none it gets 503 with Retry-After.
	MaxSessionsPerPrincipal int
	MaxSessions             int
	MaxNodeSessions         int
	// OnSessionBound, if set, is called for each session evicted at a
	// bound (evicted true) and each initialize refused at one (false);
	// bound is the BoundError name.
	OnSessionBound func(bound string, evicted bool)
	// SSEKeepAlive is how often an open SSE stream (GET, or the answer to a
	// POST) gets a comment line, so that proxies keep it open and a client
	// that is gone is noticed (default DefaultSSEKeepAlive; negative: none).
	SSEKeepAlive time.Duration
	// WriteTimeout bounds writing one SSE event or comment (0: no bound).
	WriteTimeout time.Duration
	// OnCall, if set, is called after each request is answered.
	OnCall func(CallInfo)
	// Sessions, if set, is a pool shared with other Servers (a node's
	// /mcp and its per-peer endpoints): the session bounds then hold for
	// all of them together. Nil: the Server has a pool of its own.
	Sessions *SessionPool
	// StateKey seals the requestState of input_required results for
	// 2026-07-28 callers (see StateKey); every node of a ring must have the
	// same. Empty: a random key of this Server's own.
	StateKey []byte
	// StateTTL is how long a sealed requestState stays good (default
	// DefaultStateTTL).
	StateTTL time.Duration
	// SessionKey MACs the Mcp-Session-Id of the sessions this Server
	// opens, which name NodeName (see SessionKey); every node of a ring
	// must have the same. Empty: a random key of this Server's own.
	SessionKey []byte
	// Tracing, if set, makes a span of each request (continuing the
	// caller's trace context: docs/tracing.md); nil: none.
	Tracing *Tracing
}

// Server serves MCP over Streamable HTTP from one Backend: the protocol
// methods itself, everything else through the Backend. One Server serves
// both sessionless POSTs and full sessions from the same Backend.
type Server struct {
	backend Backend
	opts    ServerOptions
	log     *slog.Logger

	pool   *SessionPool // shared with the node's other endpoints, or its own
	closed atomic.Bool

	infoOnce sync.Once
	infoJSON json.RawMessage // serverInfo, encoded (see serverInfoJSON)

	listeners listeners    // open subscriptions/listen streams
	params    paramIndex   // the tools' x-mcp-header annotations
	workers   *workers     // run the requests answered on SSE streams
	states    *stateSealer // seals 2026-07-28 callers' requestState
	ids       *SessionIDs  // mints and checks session ids

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewServer returns a Server answering from backend. Close it when done.
func NewServer(backend Backend, opts ServerOptions) *Server {
	if opts.Name == "" {
		opts.Name = "mcpmesh"
	}
	if opts.NodeName == "" {
		opts.NodeName = opts.Name
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.SSEKeepAlive == 0 {
		opts.SSEKeepAlive = DefaultSSEKeepAlive
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.defaultBounds()
	s := &Server{backend: backend, opts: opts, log: opts.Logger, pool: opts.Sessions, stop: make(chan struct{})}
	if s.pool == nil {
		s.pool = NewSessionPool()
	}
	s.workers = newWorkers(s.stop, &s.wg)
	s.states = newStateSealer(opts.StateKey, opts.StateTTL)
	s.ids = NewSessionIDs(opts.SessionKey, opts.NodeName)
	s.wg.Add(1)
	go s.reap()
	return s
}

// Handler is the Streamable HTTP endpoint (POST, GET and DELETE).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// NotifyListChanged tells every open session, and every subscriptions/listen
// stream that opted in, that the list of kind changed.
func (s *Server) NotifyListChanged(kind Kind) {
	method := map[Kind]string{
		KindTool: "notifications/tools/list_changed", KindPrompt: "notifications/prompts/list_changed",
		KindResource: "notifications/resources/list_changed", KindResourceTemplate: "notifications/resources/list_changed",
	}[kind]
	s.listeners.listChanged(kind)
	m := &Message{JSONRPC: "2.0", Method: method}
	for _, sess := range s.sessionList() {
		sess.standalone().send(m)
	}
}

// NotifyListChangedFor is NotifyListChanged for the sessions and listen
// streams whose principal affected reports (a change of what some callers
// may see, such as an access rule's); affected is asked once per principal.
func (s *Server) NotifyListChangedFor(kind Kind, affected func(Principal) bool) {
	seen := map[Principal]bool{}
	ask := func(p Principal) bool {
		a, ok := seen[p]
		if !ok {
			a = affected(p)
			seen[p] = a
		}
		return a
	}
	s.listeners.listChangedFor(kind, ask)
	m := &Message{JSONRPC: "2.0", Method: listMethods[listIndex(kind)]}
	for _, sess := range s.sessionList() {
		if ask(sess.owner) {
			sess.standalone().send(m)
		}
	}
}

// Close ends every session and cancels their requests; it waits for the
// Server's own goroutines.
func (s *Server) Close() {
	if s.closed.Swap(true) {
		return
	}
	sessions := s.pool.removeAll(s)
	close(s.stop)
	for _, sess := range sessions {
		sess.close()
	}
	s.wg.Wait()
}

// reap ends sessions idle for longer than SessionIdle.
func (s *Server) reap() {
	defer s.wg.Done()
	t := time.NewTicker(min(s.opts.SessionIdle/4, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			for _, sess := range s.sessionList() {
				if sess.idleFor(now) > s.opts.SessionIdle && sess.quiet() {
					s.removeSession(sess.id, nil)
				}
			}
		}
	}
}

func (o *ServerOptions) defaultBounds() {
	if o.MaxSessionsPerPrincipal <= 0 {
		o.MaxSessionsPerPrincipal = DefaultMaxSessionsPerPrincipal
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxNodeSessions <= 0 {
		o.MaxNodeSessions = o.MaxSessions
	}
}
