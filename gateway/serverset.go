package gateway

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Where an upstream server's entry comes from.
const (
	originConfig = "config" // the --config file: not persisted, not removable at run time
	originAPI    = "api"    // POST /api/servers: persisted under servers/<name>
)

// serverEntry is one upstream server the node runs.
type serverEntry struct {
	cfg     serverConfig
	origin  string
	up      upstream
	refused error // set when the catalog refused it at boot (a clash)
}

// view is how /api/servers shows e: its upstream's status plus where its
// entry comes from. protocol_version is the negotiated version, or until
// the server has connected the one the entry asks for (if any).
func (e *serverEntry) view() api.Server {
	st := e.up.Status()
	st.Name = e.cfg.Name
	if e.refused != nil {
		st.State, st.Error = "failed", e.refused.Error()
		st.Tools, st.Prompts, st.Resources = 0, 0, 0
	}
	if st.ProtocolVersion == "" {
		st.ProtocolVersion = e.cfg.ProtocolVersion // asked for, not negotiated yet
	}
	v := serverView(st, e.cfg.Prefix, e.origin)
	v.Service = e.cfg.Service
	return v
}

// serverView is st as the REST API shows it. Status repeats State under
// the name the contract uses.
func serverView(st upstreamStatus, prefix, origin string) api.Server {
	return api.Server{Name: st.Name, Transport: st.Transport, State: st.State, Error: st.Error,
		ListError: st.ListError, ProtocolVersion: st.ProtocolVersion, Tools: st.Tools, Prompts: st.Prompts,
		Resources: st.Resources, ResourceTemplates: st.ResourceTemplates, Restarts: st.Restarts,
		Since: st.Since, PID: st.PID, Status: st.State, Prefix: prefix, Origin: origin}
}

// serverSet holds the node's upstreams by name, and the names and prefixes
// of registrations under way so that two cannot race for one name.
type serverSet struct {
	mu      sync.Mutex
	entries map[string]*serverEntry
	pending map[string]string // name → prefix
	closed  bool
}

func newServerSet() *serverSet {
	return &serverSet{entries: map[string]*serverEntry{}, pending: map[string]string{}}
}

// reserve claims cfg's name and prefix for a registration, or returns an
// error wrapping mcp.ErrConflict naming what holds them. taken are the
// names of the catalog's other sources (e.g. "demo").
func (s *serverSet) reserve(cfg serverConfig, taken []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.conflict(cfg, taken); err != nil {
		return err
	}
	s.pending[cfg.Name] = cfg.ListPrefix()
	return nil
}

func (s *serverSet) conflict(cfg serverConfig, taken []string) error {
	_, inUse := s.entries[cfg.Name]
	_, inFlight := s.pending[cfg.Name]
	if inUse || inFlight || slices.Contains(taken, cfg.Name) {
		return fmt.Errorf("%w: a server named %q is already registered", mcp.ErrConflict, cfg.Name)
	}
	head := cfg.ListPrefix()
	if head == "" {
		return nil
	}
	for name, e := range s.entries {
		if e.cfg.ListPrefix() == head {
			return fmt.Errorf("%w: %s of server %q is already used by server %q (one upstream per prefix or service on a node)", mcp.ErrConflict, headOf(cfg), cfg.Name, name)
		}
	}
	for name, prefix := range s.pending {
		if prefix == head {
			return fmt.Errorf("%w: %s of server %q is already claimed by server %q", mcp.ErrConflict, headOf(cfg), cfg.Name, name)
		}
	}
	return nil
}

// headOf names what cfg lists its tools under: `service "x"` or `prefix "x"`.
func headOf(cfg serverConfig) string {
	if cfg.Service != "" {
		return fmt.Sprintf("service %q", cfg.Service)
	}
	return fmt.Sprintf("prefix %q", cfg.Prefix)
}

func (s *serverSet) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, name)
}

// put adds e; it reports false (and adds nothing) once the set is closed.
func (s *serverSet) put(e *serverEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.entries[e.cfg.Name] = e
	return true
}

func (s *serverSet) get(name string) (*serverEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	return e, ok
}

// remove drops name if check(e) allows it; check's error is returned as is.
func (s *serverSet) remove(name string, check func(*serverEntry) error) (*serverEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		return nil, errUnknownServer(name)
	}
	if err := check(e); err != nil {
		return nil, err
	}
	delete(s.entries, name)
	return e, nil
}

// list returns the entries sorted by name.
func (s *serverSet) list() []*serverEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*serverEntry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Name < out[j].cfg.Name })
	return out
}

func (s *serverSet) names() []string {
	var out []string
	for _, e := range s.list() {
		out = append(out, e.cfg.Name)
	}
	return out
}

// closeAll closes every upstream; later puts are refused.
func (s *serverSet) closeAll(log *slog.Logger) {
	s.mu.Lock()
	s.closed = true
	entries := s.entries
	s.entries = map[string]*serverEntry{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for name, e := range entries {
		wg.Go(func() {
			if err := e.up.Close(); err != nil {
				log.Warn("closing upstream server", "server", name, "err", err)
			}
		})
	}
	wg.Wait()
}
