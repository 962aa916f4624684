package api

import "time"

// Rule is an access rule as GET /api/policy/rules (a bare array of them)
// and GET, POST and PATCH /api/policy/rules[/{name}] show it, and the body
// POST takes (name, effect, principals, tools, rate; the rest is the
// registry's).
type Rule struct {
	Name       string   `json:"name"`
	Effect     string   `json:"effect"`     // RuleAllow or RuleDeny
	Principals []string `json:"principals"` // "user:<sub>", "group:<g>", "*"
	Tools      []string `json:"tools"`      // globs over canonical names and resource URIs
	// Rate is "<n>/s", "<n>/m" or "<n>/h" (allow rules only; "" for none).
	Rate      string    `json:"rate,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"` // the node that wrote the rule last
}

// A rule's effect.
const (
	RuleAllow = "allow"
	RuleDeny  = "deny"
)

// RulePatch is the body of PATCH /api/policy/rules/{name}: the fields it
// names replace the rule's; the others stay.
type RulePatch struct {
	Effect     *string   `json:"effect,omitempty"`
	Principals *[]string `json:"principals,omitempty"`
	Tools      *[]string `json:"tools,omitempty"`
	Rate       *string   `json:"rate,omitempty"`
}
