package policy

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gobwas/glob"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// maxViews bounds a Set's cache of per-principal views; past it the cache
// starts over (views are cheap to rebuild).
const maxViews = 4096

// compiled is one rule ready to match.
type compiled struct {
	allow bool
	globs []glob.Glob
	rate  Rate
	rated bool
}

// Set is a compiled rule set, immutable once made. With no allow rule
// every name is allowed but what a deny rule matches; with one, a
// principal may use only what an allow rule gives it, and deny wins.
// Views (the rules one principal meets) are built on first use and cached
// in the Set, so a new rule set starts with none.
type Set struct {
	rules    []compiled
	byUser   map[string][]int
	byGroup  map[string][]int
	everyone []int
	anyAllow bool

	mu    sync.Mutex
	views map[viewKey]*View // by principal
	dedup map[string]*View  // by the rules they hold
}

// Compile builds the Set of rules. A rule that fails Check (one from a
// newer or faulty node) is skipped and returned in bad, by name.
func Compile(rules []api.Rule) (s *Set, bad []string) {
	s = &Set{byUser: map[string][]int{}, byGroup: map[string][]int{}, views: map[viewKey]*View{}, dedup: map[string]*View{}}
	for _, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			bad = append(bad, r.Name)
			continue
		}
		s.index(len(s.rules), r.Principals)
		s.rules = append(s.rules, c)
		s.anyAllow = s.anyAllow || c.allow
	}
	return s, bad
}

func compileRule(r api.Rule) (compiled, error) {
	if err := Check(r); err != nil {
		return compiled{}, err
	}
	globs, _ := compileGlobs(r.Tools)
	c := compiled{allow: r.Effect == api.RuleAllow, globs: globs}
	if r.Rate != "" {
		c.rate, _ = ParseRate(r.Rate)
		c.rated = true
	}
	return c, nil
}

func (s *Set) index(i int, principals []string) {
	for _, p := range principals {
		kind, who, _ := strings.Cut(p, ":")
		switch kind {
		case "*":
			s.everyone = append(s.everyone, i)
		case "user":
			s.byUser[who] = append(s.byUser[who], i)
		case "group":
			s.byGroup[who] = append(s.byGroup[who], i)
		}
	}
}

// Empty reports whether the Set has no rules (everything is allowed).
func (s *Set) Empty() bool { return s == nil || len(s.rules) == 0 }

// For returns the view of principal p: the rules that name it.
func (s *Set) For(p mcp.Principal) *View {
	if s.Empty() {
		return allowAll
	}
	key := viewKey{sub: p.Subject, groups: p.Groups}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.views[key]; ok {
		return v
	}
	idx := s.rulesOf(p)
	dk := indexKey(idx)
	v, ok := s.dedup[dk]
	if !ok {
		v = s.newView(idx)
		s.dedup[dk] = v
	}
	if len(s.views) >= maxViews {
		clear(s.views)
		clear(s.dedup)
	}
	s.views[key] = v
	return v
}

// viewKey is what of a principal the rules look at.
type viewKey struct{ sub, groups string }

// rulesOf returns the indexes of the rules naming p, sorted, once each.
func (s *Set) rulesOf(p mcp.Principal) []int {
	idx := slices.Clone(s.everyone)
	idx = append(idx, s.byUser[p.Subject]...)
	for _, g := range p.GroupList() {
		idx = append(idx, s.byGroup[g]...)
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

func indexKey(idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	return b.String()
}

func (s *Set) newView(idx []int) *View {
	v := &View{restricted: s.anyAllow, filtered: map[string]filtered{}}
	for _, i := range idx {
		r := s.rules[i]
		if !r.allow {
			v.deny = append(v.deny, r.globs...)
			continue
		}
		v.allow = append(v.allow, r.globs...)
		if r.rated {
			v.rated = append(v.rated, r)
		}
	}
	return v
}

// Allowed reports whether p may use name (a canonical name or a URI).
func (s *Set) Allowed(p mcp.Principal, name string) bool { return s.For(p).Allowed(name) }

// RateFor returns the strictest rate of the allow rules that give p the
// canonical name, and whether there is one.
func (s *Set) RateFor(p mcp.Principal, canonical string) (Rate, bool) {
	return s.For(p).RateFor(canonical)
}
