package policy

import (
	"sync"

	"github.com/gobwas/glob"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// maxFiltered bounds a View's cache of filtered lists (one per slot).
const maxFiltered = 256

// View is what one principal meets of a Set: the globs its allow and deny
// rules hold. Principals that meet the same rules share a View, and with
// it its cache of filtered lists.
type View struct {
	restricted bool // the Set has an allow rule: only allowed names pass
	allow      []glob.Glob
	deny       []glob.Glob
	rated      []compiled

	mu       sync.Mutex
	filtered map[string]filtered // by slot: the latest listing filtered there
}

// allowAll is the View of an empty Set.
var allowAll = &View{filtered: map[string]filtered{}}

// filtered is a listing, named by the identity of its items (the backends
// hand out the same slice until the listing changes), and what passed.
type filtered struct {
	first *mcp.Item
	n     int
	out   []mcp.Item
}

// Allowed reports whether name passes: no deny glob matches it, and, when
// the Set has an allow rule, an allow glob does.
func (v *View) Allowed(name string) bool {
	if matchAny(v.deny, name) {
		return false
	}
	return !v.restricted || matchAny(v.allow, name)
}

func matchAny(globs []glob.Glob, name string) bool {
	for _, g := range globs {
		if g.Match(name) {
			return true
		}
	}
	return false
}

// Open reports whether the View lets everything through (no rules touch
// it): lists need no filtering.
func (v *View) Open() bool { return !v.restricted && len(v.deny) == 0 }

// RateFor returns the strictest rate of the View's allow rules matching
// canonical (the fewest calls per second), and whether one has a rate.
func (v *View) RateFor(canonical string) (Rate, bool) {
	if !v.Allowed(canonical) {
		return Rate{}, false
	}
	var best Rate
	found := false
	for _, r := range v.rated {
		if matchAny(r.globs, canonical) && (!found || perSecond(r.rate) < perSecond(best)) {
			best, found = r.rate, true
		}
	}
	return best, found
}

func perSecond(r Rate) float64 { return float64(r.N) / r.Per.Seconds() }

// Filter returns the items v allows, naming each by canon(item) (the
// canonical name of a listed key). slot names where the listing comes
// from (an endpoint and a kind): the result for the same items (the same
// slice) in the same slot is cached, and only the latest listing of a slot
// is kept.
func (v *View) Filter(items []mcp.Item, slot string, canon func(mcp.Item) string) []mcp.Item {
	if v.Open() || len(items) == 0 {
		return items
	}
	v.mu.Lock()
	f, ok := v.filtered[slot]
	v.mu.Unlock()
	if ok && f.first == &items[0] && f.n == len(items) {
		return f.out
	}
	out := make([]mcp.Item, 0, len(items))
	for _, it := range items {
		if v.Allowed(canon(it)) {
			out = append(out, it)
		}
	}
	v.mu.Lock()
	if len(v.filtered) >= maxFiltered {
		clear(v.filtered)
	}
	v.filtered[slot] = filtered{first: &items[0], n: len(items), out: out}
	v.mu.Unlock()
	return out
}
