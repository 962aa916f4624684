package mcp

import (
	"errors"
	"fmt"
	"sync"
)

// Defaults of the session bounds in ServerOptions.
const (
	DefaultMaxSessions             = 10000
	DefaultMaxSessionsPerPrincipal = 100
)

// The names of the session bounds, as BoundError and OnSessionBound give them.
const (
	boundPerPrincipal = "max-sessions-per-principal"
	boundClients      = "max-sessions"
	boundNodes        = "max-node-sessions"
)

// SessionRetryAfter is the Retry-After, in seconds, of a 503 answered
// when a session bound is reached and no session under it is idle.
const SessionRetryAfter = 5

// errClosing refuses a session while the Server closes.
var errClosing = errors.New("server is closing: try again later")

// BoundError says which session bound refused an initialize: reached, and
// no session under it idle enough to be evicted.
type BoundError struct {
	Bound string // "max-sessions-per-principal", "max-sessions" or "max-node-sessions"
	Limit int
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("too many sessions: the %s bound (%d) is reached and none of its sessions is idle "+
		"(each has an open GET stream or a request in flight); end one with DELETE or try again later", e.Bound, e.Limit)
}

// sessionTable holds a Server's sessions by id and by owner, and counts
// the two budgets: clients' (pool 0) and other nodes' (pool 1).
type sessionTable struct {
	byID    map[string]*session
	byOwner map[Principal]map[string]*session
	count   [2]int
}

func newSessionTable() sessionTable {
	return sessionTable{byID: map[string]*session{}, byOwner: map[Principal]map[string]*session{}}
}

// pool is the budget p's sessions count against.
func pool(p Principal) int {
	if p.Node {
		return 1
	}
	return 0
}

func (t *sessionTable) add(sess *session) {
	t.byID[sess.id] = sess
	own := t.byOwner[sess.owner]
	if own == nil {
		own = map[string]*session{}
		t.byOwner[sess.owner] = own
	}
	own[sess.id] = sess
	t.count[pool(sess.owner)]++
}

func (t *sessionTable) remove(id string) *session {
	sess := t.byID[id]
	if sess == nil {
		return nil
	}
	delete(t.byID, id)
	own := t.byOwner[sess.owner]
	delete(own, id)
	if len(own) == 0 {
		delete(t.byOwner, sess.owner)
	}
	t.count[pool(sess.owner)]--
	return sess
}

// idlest is the least recently used quiet session of those that keep
// returns true for, except skip; nil if none is quiet.
func idlest(sessions map[string]*session, skip *session, keep func(*session) bool) *session {
	var best *session
	for _, sess := range sessions {
		if sess == skip || !keep(sess) || (best != nil && sess.lastUsed.Load() >= best.lastUsed.Load()) {
			continue
		}
		if sess.quiet() {
			best = sess
		}
	}
	return best
}

func anySession(*session) bool { return true }

// admit adds sess within its bounds. Where its owner's bound, or its
// pool's, is reached, the least recently used quiet session under that
// bound is evicted; the evicted sessions are returned for the caller to
// close. If a bound is reached and nothing can be evicted, nothing changes
// and the error is a *BoundError.
func (s *Server) admit(sess *session) ([]eviction, error) {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.closed.Load() {
		return nil, errClosing
	}
	victims, err := s.victims(sess.owner)
	if err != nil {
		return nil, err
	}
	for _, v := range victims {
		p.table.remove(v.sess.id)
	}
	sess.srv = s
	p.table.add(sess)
	return victims, nil
}

// victims are the sessions to end so that one more of owner's fits: the
// idlest under each bound reached (none if no bound is), in the whole
// pool. The pool's lock is held.
func (s *Server) victims(owner Principal) ([]eviction, error) {
	t := &s.pool.table
	var out []eviction
	if own := t.byOwner[owner]; len(own) >= s.opts.MaxSessionsPerPrincipal {
		v := idlest(own, nil, anySession)
		if v == nil {
			return nil, &BoundError{Bound: boundPerPrincipal, Limit: s.opts.MaxSessionsPerPrincipal}
		}
		out = append(out, eviction{v, boundPerPrincipal})
	}
	p := pool(owner)
	limit, bound := s.poolLimit(p)
	if t.count[p]-len(out) < limit {
		return out, nil
	}
	v := idlest(t.byID, first(out), func(c *session) bool { return pool(c.owner) == p })
	if v == nil {
		return nil, &BoundError{Bound: bound, Limit: limit}
	}
	return append(out, eviction{v, bound}), nil
}

// eviction is a session ended to make room, and the bound that ended it.
type eviction struct {
	sess  *session
	bound string
}

func first(victims []eviction) *session {
	if len(victims) == 0 {
		return nil
	}
	return victims[0].sess
}

// poolLimit is the bound of pool p and its name.
func (s *Server) poolLimit(p int) (int, string) {
	if p == 1 {
		return s.opts.MaxNodeSessions, boundNodes
	}
	return s.opts.MaxSessions, boundClients
}

// SessionCounts are the open sessions of clients and of Node principals,
// in the Server's whole pool.
func (s *Server) SessionCounts() (clients, nodes int) {
	s.pool.mu.RLock()
	defer s.pool.mu.RUnlock()
	return s.pool.table.count[0], s.pool.table.count[1]
}

// Sessions is the number of this Server's open sessions.
func (s *Server) Sessions() int { return len(s.sessionList()) }

// sessionList is this Server's sessions.
func (s *Server) sessionList() []*session {
	s.pool.mu.RLock()
	defer s.pool.mu.RUnlock()
	var out []*session
	for _, sess := range s.pool.table.byID {
		if sess.srv == s {
			out = append(out, sess)
		}
	}
	return out
}

// ownedSession is the session id if it is this Server's and p owns it,
// taken for one HTTP request's use (release it when done); nil for
// another principal's session, or another endpoint's, as for one that
// does not exist.
func (s *Server) ownedSession(id string, p Principal) *session {
	s.pool.mu.RLock()
	defer s.pool.mu.RUnlock()
	if sess := s.pool.table.byID[id]; sess != nil && sess.srv == s && sess.owner == p {
		sess.users.Add(1)
		return sess
	}
	return nil
}

// SessionOwner is the name of the node that minted the session id (its
// NodeName), if id is one that a node sharing this Server's SessionKey
// minted; ok is false for a forged, altered or foreign id. It says nothing
// of whether the session is still open, nor whose it is.
func (s *Server) SessionOwner(id string) (node string, ok bool) { return s.ids.Owner(id) }

// removeSession ends the session id if it is this Server's and p owns it
// (any owner when p is nil); it reports whether one was ended.
func (s *Server) removeSession(id string, p *Principal) bool {
	s.pool.mu.Lock()
	sess := s.pool.table.byID[id]
	if sess != nil && sess.srv == s && (p == nil || sess.owner == *p) {
		s.pool.table.remove(id)
	} else {
		sess = nil
	}
	s.pool.mu.Unlock()
	if sess != nil {
		sess.close()
	}
	return sess != nil
}

// SessionPool holds the MCP sessions of one or more Servers, so that the
// session bounds (per principal, per pool of clients or nodes) hold for a
// node as a whole, whichever endpoint a session was opened on. A session
// is still only found on the Server that opened it.
type SessionPool struct {
	mu    sync.RWMutex
	table sessionTable
}

// NewSessionPool returns an empty pool to share between Servers.
func NewSessionPool() *SessionPool { return &SessionPool{table: newSessionTable()} }

// removeAll takes srv's sessions out of the pool and returns them.
func (p *SessionPool) removeAll(srv *Server) []*session {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*session
	for id, sess := range p.table.byID {
		if sess.srv == srv {
			p.table.remove(id)
			out = append(out, sess)
		}
	}
	return out
}
