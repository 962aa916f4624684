package federation

import (
	"errors"
	"fmt"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/policy"
)

// The errors of the rules API, besides a *policy.FieldError (400).
var (
	ErrRuleExists  = cluster.ErrRuleTaken    // 409
	ErrRuleUnknown = cluster.ErrRuleNotFound // 404
)

// Rules returns the ring's access rules, by name.
func (f *Engine) Rules() []api.Rule {
	recs := f.cfg.Node.Rules().List()
	out := make([]api.Rule, len(recs))
	for i, r := range recs {
		out[i] = ruleOf(r)
	}
	return out
}

// Rule returns the rule name.
func (f *Engine) Rule(name string) (api.Rule, error) {
	r, ok := f.cfg.Node.Rules().Get(name)
	if !ok {
		return api.Rule{}, fmt.Errorf("%w: %q", ErrRuleUnknown, name)
	}
	return ruleOf(r), nil
}

// AddRule checks r and writes it to the ring's rules.
func (f *Engine) AddRule(r api.Rule) (api.Rule, error) {
	if err := policy.Check(r); err != nil {
		return api.Rule{}, err
	}
	rec, err := f.cfg.Node.Rules().Add(recordOf(r))
	if err != nil {
		return api.Rule{}, err
	}
	f.rulesChanged()
	return ruleOf(rec), nil
}

// PatchRule replaces the fields p names of the rule name, checked whole.
func (f *Engine) PatchRule(name string, p api.RulePatch) (api.Rule, error) {
	rec, err := f.cfg.Node.Rules().Update(name, func(cur *cluster.RuleRecord) error {
		r := patched(ruleOf(*cur), p)
		if err := policy.Check(r); err != nil {
			return err
		}
		*cur = recordOf(r)
		return nil
	})
	if err != nil {
		return api.Rule{}, err
	}
	f.rulesChanged()
	return ruleOf(rec), nil
}

// DeleteRule removes the rule name from the ring.
func (f *Engine) DeleteRule(name string) error {
	if err := f.cfg.Node.Rules().Delete(name); err != nil {
		return err
	}
	f.rulesChanged()
	return nil
}

func patched(r api.Rule, p api.RulePatch) api.Rule {
	if p.Effect != nil {
		r.Effect = *p.Effect
	}
	if p.Principals != nil {
		r.Principals = *p.Principals
	}
	if p.Tools != nil {
		r.Tools = *p.Tools
	}
	if p.Rate != nil {
		r.Rate = *p.Rate
	}
	return r
}

// IsRuleInput reports whether err is a refused rule (400).
func IsRuleInput(err error) bool {
	return errors.Is(err, policy.ErrInvalid) || errors.Is(err, cluster.ErrRuleInvalid)
}

func ruleOf(r cluster.RuleRecord) api.Rule {
	return api.Rule{Name: r.Name, Effect: r.Effect, Principals: r.Principals, Tools: r.Tools, Rate: r.Rate,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, UpdatedBy: r.Writer}
}

func recordOf(r api.Rule) cluster.RuleRecord {
	return cluster.RuleRecord{Name: r.Name, Effect: r.Effect, Principals: r.Principals, Tools: r.Tools, Rate: r.Rate,
		CreatedAt: r.CreatedAt}
}

// Policy returns the compiled rule set now in force (recompiled when the
// ring's rules change).
func (f *Engine) Policy() *policy.Set {
	gen := f.cfg.Node.Rules().Generation()
	if c := f.policy.Load(); c != nil && c.gen == gen {
		return c.set
	}
	f.policyMu.Lock()
	defer f.policyMu.Unlock()
	if c := f.policy.Load(); c != nil && c.gen == gen {
		return c.set
	}
	set, bad := policy.Compile(f.Rules())
	if len(bad) > 0 {
		f.log.Warn("access rules skipped: they do not check", "rules", bad)
	}
	f.policy.Store(&compiledPolicy{gen: gen, set: set})
	return set
}

// RateFor is the strictest rate of the allow rules that give p the
// canonical name (for the rate limiter).
func (f *Engine) RateFor(p mcp.Principal, canonical string) (policy.Rate, bool) {
	return f.Policy().RateFor(p, canonical)
}

// compiledPolicy is a rule set and the registry generation it was made
// from.
type compiledPolicy struct {
	gen uint64
	set *policy.Set
}

// rulesChanged recompiles the rules and tells the hook (OnRulesChanged)
// with the sets before and after.
func (f *Engine) rulesChanged() {
	old := f.policy.Load()
	set := f.Policy()
	if old != nil && old.set == set {
		return
	}
	if f.cfg.OnRulesChanged != nil {
		var before *policy.Set
		if old != nil {
			before = old.set
		}
		f.cfg.OnRulesChanged(before, set)
	}
}
