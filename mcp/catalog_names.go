package mcp

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Names of the form "<head>__<rest>" are how a federating node lists a
// peer's entries ("<peer>__<tool>"), so a local entry whose listed name has
// such a head would shadow the entries of a peer of that name. The catalog
// refuses a source that would (see SetReserved), and tells which local
// source holds a head (Holder) so that a peer of that name can be refused.

// SetReserved gives the catalog the names it must not use as heads: fn
// reports whether head is taken (by a peer, say) and describes what holds
// it. Add then refuses, with ErrConflict naming both, a source whose prefix
// is such a name, or any of whose tools or prompts would be listed as
// "<name>__...". fn must not call back into the catalog.
func (c *Catalog) SetReserved(fn func(head string) (holder string, taken bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserved = fn
}

// CheckReserved is Add's check of a source's prefix and definitions
// against the reserved names; Add runs it, callers may run it earlier (with
// empty defs, to check the prefix before starting a server).
func (c *Catalog) CheckReserved(name, prefix string, defs Definitions) error {
	c.mu.RLock()
	reserved := c.reserved
	c.mu.RUnlock()
	if reserved == nil {
		return nil
	}
	if holder, taken := reserved(prefix); prefix != "" && taken {
		return fmt.Errorf("%w: prefix %q of server %q is the name of %s: its entries would shadow that peer's", ErrConflict, prefix, name, holder)
	}
	for _, kl := range []struct {
		kind string
		defs []json.RawMessage
	}{{"tool", defs.Tools}, {"prompt", defs.Prompts}} {
		for _, def := range kl.defs {
			listed := prefixed(prefix, StringField(def, "name"))
			head, _, ok := strings.Cut(listed, "__")
			if holder, taken := reserved(head); ok && taken {
				return fmt.Errorf("%w: %s %q of server %q would shadow the entries of %s", ErrConflict, kl.kind, listed, name, holder)
			}
		}
	}
	return nil
}

// Holder describes the local source that holds head: one whose prefix is
// head, or one that lists a tool or prompt named "<head>__...". ok is false
// when none does.
func (c *Catalog) Holder(head string) (holder string, ok bool) {
	holder, ok = c.index().heads[head]
	return holder, ok
}

// noteHeads records in ix the heads source s holds: its prefix, and the
// head of each listed tool or prompt name that has one. c.mu is held.
func noteHeads(ix *index, s *catSource) {
	_, seen := ix.heads[s.prefix]
	switch {
	case s.prefix == "" || seen:
	case s.service != "":
		ix.heads[s.prefix] = fmt.Sprintf("the service %q of server %q", s.service, s.name)
	default:
		ix.heads[s.prefix] = fmt.Sprintf("the prefix %q of server %q", s.prefix, s.name)
	}
}

// noteHead records the head of one listed name, if it has one.
func noteHead(ix *index, kind Kind, listed, source string) {
	head, _, ok := strings.Cut(listed, "__")
	if _, seen := ix.heads[head]; ok && !seen {
		ix.heads[head] = fmt.Sprintf("the %s %q of server %q", map[Kind]string{KindTool: "tool", KindPrompt: "prompt"}[kind], listed, source)
	}
}
