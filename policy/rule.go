// Package policy holds the access rules of issue 12: who may see and call
// which tools, prompts and resources. A rule names principals (a token's
// sub and groups) and globs over canonical names (the names /mcp on the
// entry node lists) and resource URIs. It checks rules (Check), compiles a
// rule set (Compile) and answers, per principal, whether a name is allowed
// and at what rate. It knows nothing of the ring: the rules come from the
// replicated registry (cluster.RuleRegistry) through the federation
// engine, which enforces them.
package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/glob"

	"github.com/mcpmesh/mcpmesh/api"
)

// Bounds of a rule's fields.
const (
	MaxPrincipals = 256
	MaxGlobs      = 512
	MaxFieldLen   = 256 // bytes of one principal or glob
	maxRateN      = 1_000_000
)

// ErrInvalid is the error of every refused rule; the wrapping FieldError
// names the field.
var ErrInvalid = errors.New("invalid rule")

// FieldError is a refused rule field: Field is its JSON name (with an
// index for a list entry, e.g. "tools[2]").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("invalid rule: %s: %s", e.Field, e.Reason) }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Check validates the fields an admin sets: name (the rules of peer names),
// effect, principals, tools and rate. The error names the first bad field.
func Check(r api.Rule) error {
	if !nameRE.MatchString(r.Name) {
		return fieldErr("name", "%q must be 1-32 characters of a-z, 0-9 and '-'", r.Name)
	}
	if r.Effect != api.RuleAllow && r.Effect != api.RuleDeny {
		return fieldErr("effect", "%q must be allow or deny", r.Effect)
	}
	if err := checkPrincipals(r.Principals); err != nil {
		return err
	}
	if _, err := compileGlobs(r.Tools); err != nil {
		return err
	}
	return checkRate(r.Effect, r.Rate)
}

func checkPrincipals(ps []string) error {
	if len(ps) == 0 || len(ps) > MaxPrincipals {
		return fieldErr("principals", "%d entries: a rule names 1 to %d principals", len(ps), MaxPrincipals)
	}
	for i, p := range ps {
		if err := checkPrincipal(p); err != nil {
			return fieldErr(fmt.Sprintf("principals[%d]", i), "%q %v", p, err)
		}
	}
	return nil
}

func checkPrincipal(p string) error {
	if len(p) > MaxFieldLen {
		return fmt.Errorf("is longer than %d bytes", MaxFieldLen)
	}
	if p == "*" {
		return nil
	}
	kind, who, ok := strings.Cut(p, ":")
	if !ok || (kind != "user" && kind != "group") || who == "" {
		return errors.New(`must be "user:<sub>", "group:<name>" or "*"`)
	}
	return nil
}

// compileGlobs compiles a rule's tools: each a glob (gobwas/glob syntax:
// * any run of characters, ? one, [abc], [!abc], {a,b}, \ escapes) with no
// separator, so * also spans '/' in a resource URI.
func compileGlobs(tools []string) ([]glob.Glob, error) {
	if len(tools) == 0 || len(tools) > MaxGlobs {
		return nil, fieldErr("tools", "%d entries: a rule names 1 to %d globs", len(tools), MaxGlobs)
	}
	out := make([]glob.Glob, 0, len(tools))
	for i, t := range tools {
		g, err := compileGlob(t)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("tools[%d]", i), "%q %v", t, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func compileGlob(t string) (g glob.Glob, err error) {
	switch {
	case t == "":
		return nil, errors.New("is empty: a glob names at least one character")
	case len(t) > MaxFieldLen:
		return nil, fmt.Errorf("is longer than %d bytes", MaxFieldLen)
	}
	defer func() { // the parser must never take a node down
		if recover() != nil {
			g, err = nil, errors.New("is not a valid glob")
		}
	}()
	g, err = glob.Compile(t)
	if err != nil {
		return nil, fmt.Errorf("is not a valid glob: %w", err)
	}
	return g, nil
}

// Rate is a rule's rate: at most N calls per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// String is r as a rule writes it ("10/s").
func (r Rate) String() string {
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return strconv.Itoa(r.N) + "/" + unit
}

// ParseRate reads "<n>/s", "<n>/m" or "<n>/h" (n from 1 to 1,000,000).
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(s, "/")
	per, known := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	n, err := strconv.Atoi(num)
	if !ok || !known || err != nil || n < 1 || n > maxRateN || strconv.Itoa(n) != num {
		return Rate{}, fmt.Errorf("%q must be <n>/s, <n>/m or <n>/h with n from 1 to %d", s, maxRateN)
	}
	return Rate{N: n, Per: per}, nil
}

func checkRate(effect, rate string) error {
	if rate == "" {
		return nil
	}
	if effect != api.RuleAllow {
		return fieldErr("rate", "%q is set on a deny rule: only allow rules have a rate", rate)
	}
	if _, err := ParseRate(rate); err != nil {
		return fieldErr("rate", "%v", err)
	}
	return nil
}
