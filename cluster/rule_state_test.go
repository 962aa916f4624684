package cluster

import (
	"maps"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// genRule draws rule records from a small space, so that names, versions
// and writers collide often.
func genRule() *rapid.Generator[RuleRecord] {
	return rapid.Custom(func(t *rapid.T) RuleRecord {
		base := time.UnixMilli(1_700_000_000_000).UTC()
		return RuleRecord{
			Name:       rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "name"),
			Effect:     rapid.SampledFrom([]string{"allow", "deny"}).Draw(t, "effect"),
			Principals: []string{rapid.SampledFrom([]string{"*", "group:x", "user:y"}).Draw(t, "principal")},
			Tools:      []string{rapid.SampledFrom([]string{"*", "a__*"}).Draw(t, "tool")},
			CreatedAt:  base,
			UpdatedAt:  base,
			Version:    HLC{Wall: base.UnixMilli() + rapid.Int64Range(0, 3).Draw(t, "wall"), Logical: uint32(rapid.IntRange(0, 2).Draw(t, "logical"))},
			Writer:     rapid.SampledFrom([]string{"n1", "n2"}).Draw(t, "writer"),
			Deleted:    rapid.Bool().Draw(t, "deleted"),
		}
	})
}

func genRuleState() *rapid.Generator[ruleState] {
	return rapid.Custom(func(t *rapid.T) ruleState {
		s := ruleState{}
		for _, r := range rapid.SliceOfN(genRule(), 0, 8).Draw(t, "rules") {
			s.apply(r)
		}
		return s
	})
}

func joinRules(states ...ruleState) ruleState {
	out := ruleState{}
	for _, s := range states {
		out.merge(s)
	}
	return out
}

func equalRuleStates(a, b ruleState) bool {
	return maps.EqualFunc(a, b, func(x, y RuleRecord) bool { return compareRules(x, y) == 0 }) && a.digest() == b.digest()
}

// TestRuleMergeLaws: the rule registry's merge is commutative, associative
// and idempotent, so every delivery order gives every node the same rules.
func TestRuleMergeLaws(t *testing.T) {
	tests := []struct {
		name string
		law  func(t *rapid.T) (ruleState, ruleState)
	}{
		{"commutative", func(t *rapid.T) (ruleState, ruleState) {
			a, b := genRuleState().Draw(t, "a"), genRuleState().Draw(t, "b")
			return joinRules(a, b), joinRules(b, a)
		}},
		{"associative", func(t *rapid.T) (ruleState, ruleState) {
			a, b, c := genRuleState().Draw(t, "a"), genRuleState().Draw(t, "b"), genRuleState().Draw(t, "c")
			return joinRules(joinRules(a, b), c), joinRules(a, joinRules(b, c))
		}},
		{"idempotent", func(t *rapid.T) (ruleState, ruleState) {
			a := genRuleState().Draw(t, "a")
			return joinRules(a, a), a
		}},
		{"order of deliveries", func(t *rapid.T) (ruleState, ruleState) {
			recs := rapid.SliceOfN(genRule(), 0, 12).Draw(t, "recs")
			shuffled := slices.Clone(recs)
			rapid.Permutation(shuffled).Draw(t, "perm")
			a, b := ruleState{}, ruleState{}
			for i := range recs {
				a.apply(recs[i])
				b.apply(shuffled[i])
			}
			return a, b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				if x, y := tt.law(t); !equalRuleStates(x, y) {
					t.Fatalf("states differ:\n%v\n%v", x.sorted(), y.sorted())
				}
			})
		})
	}
}
