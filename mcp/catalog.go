package mcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
)

// MetaSource is the _meta key that names the node an entry comes from.
const MetaSource = "mcpmesh/source"

// ErrConflict is returned (wrapped, naming both sides) when a source's name,
// prefix or entries clash with what the catalog already holds.
var ErrConflict = errors.New("name conflict")

// Definitions are a source's entries as the source itself names them: each
// one the JSON object its server sent (a Tool, Prompt, Resource or
// ResourceTemplate).
type Definitions struct {
	Tools             []json.RawMessage
	Prompts           []json.RawMessage
	Resources         []json.RawMessage
	ResourceTemplates []json.RawMessage
}

// Source provides local entries: the demo tools, or one upstream server.
type Source interface {
	// Snapshot returns the current definitions; it must not block on I/O.
	Snapshot() Definitions
	// Call serves a request routed to this source, with the tool or prompt
	// name in req.Params already turned back into the source's own.
	Call(ctx context.Context, req *Request) (json.RawMessage, error)
}

// Catalog is a node's local catalog: the union of its sources' entries,
// renamed by prefix, marked with the node as source, and routable. It
// implements [Backend] for local-only serving.
type Catalog struct {
	node string
	log  *slog.Logger

	mu       sync.RWMutex
	sources  map[string]*catSource
	order    []string
	idx      *index
	onChange []func()
	reserved func(head string) (holder string, taken bool) // see SetReserved
}

type catSource struct {
	name, prefix string
	service      string // set for a provider of a replicated service (then prefix == service)
	src          Source
}

// NewCatalog returns an empty catalog for the node called node.
func NewCatalog(node string, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.Default()
	}
	c := &Catalog{node: node, log: log, sources: map[string]*catSource{}}
	c.idx = c.build()
	return c
}

// Node is the name the catalog marks its entries with.
func (c *Catalog) Node() string { return c.node }

// OnChange registers fn to run (on the caller's goroutine of Changed, Add or
// Remove) whenever the listed entries change.
func (c *Catalog) OnChange(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, fn)
}

// Add registers src under name with an optional prefix. A duplicate name or
// prefix, or an entry whose listed name clashes with one already listed, is
// refused with an error wrapping ErrConflict that names both sides.
func (c *Catalog) Add(name, prefix string, src Source) error {
	return c.add(&catSource{name: name, prefix: prefix, src: src})
}

// AddEntry is Add for an upstream entry: under its prefix, or as a
// provider of its service, whose tools are listed as "<service>__<name>"
// with the service as their source and _meta["mcpmesh/service"].
func (c *Catalog) AddEntry(cfg ServerConfig, src Source) error {
	return c.add(&catSource{name: cfg.Name, prefix: cfg.ListPrefix(), service: cfg.Service, src: src})
}

func (c *Catalog) add(cs *catSource) error {
	name, prefix, src := cs.name, cs.prefix, cs.src
	if err := c.CheckReserved(name, prefix, src.Snapshot()); err != nil {
		return err
	}
	c.mu.Lock()
	if err := c.checkAdd(name, prefix, src); err != nil {
		c.mu.Unlock()
		return err
	}
	c.sources[name] = cs
	c.order = append(c.order, name)
	c.mu.Unlock()
	c.Changed()
	return nil
}

func (c *Catalog) checkAdd(name, prefix string, src Source) error {
	if _, ok := c.sources[name]; ok {
		return fmt.Errorf("%w: a server named %q is already registered", ErrConflict, name)
	}
	for _, s := range c.sources {
		if prefix != "" && s.prefix == prefix {
			return fmt.Errorf("%w: prefix %q is already used by server %q", ErrConflict, prefix, s.name)
		}
	}
	for _, def := range src.Snapshot().Tools {
		listed := prefixed(prefix, StringField(def, "name"))
		if r, ok := c.idx.tools[listed]; ok {
			return fmt.Errorf("%w: tool %q of server %q clashes with tool %q of server %q",
				ErrConflict, listed, name, listed, r.source)
		}
	}
	return nil
}

// Remove drops the source called name; it reports whether there was one.
func (c *Catalog) Remove(name string) bool {
	c.mu.Lock()
	_, ok := c.sources[name]
	if ok {
		delete(c.sources, name)
		c.order = deleteString(c.order, name)
	}
	c.mu.Unlock()
	if ok {
		c.Changed()
	}
	return ok
}

// Names lists the registered sources in registration order.
func (c *Catalog) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.order...)
}

// Changed rebuilds the index from the sources' snapshots and, if anything
// listed changed, runs the OnChange callbacks. Sources call it when their
// server reports a list change.
func (c *Catalog) Changed() {
	c.mu.Lock()
	old := c.idx
	c.idx = c.build()
	changed := old.digest != c.idx.digest
	fns := append([]func(){}, c.onChange...)
	c.mu.Unlock()
	if changed {
		for _, fn := range fns {
			fn()
		}
	}
}

// Digest is a short hash of everything listed; it changes when any listed
// entry changes.
func (c *Catalog) Digest() string { return c.index().digest }

// Lookup tells which source serves the listed tool name, and its own name there.
func (c *Catalog) Lookup(tool string) (source, orig string, ok bool) {
	r, ok := c.index().tools[tool]
	return r.source, r.orig, ok
}

func (c *Catalog) index() *index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.idx
}

// List implements Backend: the local entries of kind.
func (c *Catalog) List(_ context.Context, kind Kind, _ ListOptions) (*List, error) {
	return &List{Items: c.index().lists[kind]}, nil
}

func prefixed(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "__" + name
}

func deleteString(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func digestItems(lists [4][]Item) string {
	h := sha256.New()
	for k, items := range lists {
		fmt.Fprintf(h, "%d:%d\n", k, len(items))
		for _, it := range items {
			h.Write(it.JSON)
			h.Write([]byte{'\n'})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortItems(items []Item) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Key < items[j].Key })
}
