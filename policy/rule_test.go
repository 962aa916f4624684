package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
)

func rule(name, effect string, principals, tools []string, rate string) api.Rule {
	return api.Rule{Name: name, Effect: effect, Principals: principals, Tools: tools, Rate: rate}
}

// TestCheckNamesTheField: every bad field is refused with an error that
// names it; good rules pass.
func TestCheckNamesTheField(t *testing.T) {
	many := make([]string, MaxGlobs+1)
	for i := range many {
		many[i] = "t"
	}
	tests := []struct {
		name  string
		r     api.Rule
		field string // "" for a good rule
	}{
		{"good allow", rule("team-a", "allow", []string{"group:a", "user:bob", "*"}, []string{"a__*", "svc__echo"}, "10/s"), ""},
		{"good deny", rule("no-sleep", "deny", []string{"*"}, []string{"*__sleep", "file:///etc/*"}, ""), ""},
		{"name upper", rule("Team", "allow", []string{"*"}, []string{"*"}, ""), "name"},
		{"name empty", rule("", "allow", []string{"*"}, []string{"*"}, ""), "name"},
		{"name long", rule(strings.Repeat("a", 33), "allow", []string{"*"}, []string{"*"}, ""), "name"},
		{"effect", rule("r", "permit", []string{"*"}, []string{"*"}, ""), "effect"},
		{"no principals", rule("r", "allow", nil, []string{"*"}, ""), "principals"},
		{"bad principal kind", rule("r", "allow", []string{"role:x"}, []string{"*"}, ""), "principals[0]"},
		{"empty user", rule("r", "allow", []string{"*", "user:"}, []string{"*"}, ""), "principals[1]"},
		{"no tools", rule("r", "allow", []string{"*"}, nil, ""), "tools"},
		{"too many tools", rule("r", "allow", []string{"*"}, many, ""), "tools"},
		{"bad glob", rule("r", "allow", []string{"*"}, []string{"ok", "a[b"}, ""), "tools[1]"},
		{"empty glob", rule("r", "allow", []string{"*"}, []string{""}, ""), "tools[0]"},
		{"rate unit", rule("r", "allow", []string{"*"}, []string{"*"}, "10/d"), "rate"},
		{"rate zero", rule("r", "allow", []string{"*"}, []string{"*"}, "0/s"), "rate"},
		{"rate sign", rule("r", "allow", []string{"*"}, []string{"*"}, "+5/s"), "rate"},
		{"rate on deny", rule("r", "deny", []string{"*"}, []string{"*"}, "5/s"), "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.r)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused a good rule: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want one naming field %q", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for s, want := range map[string]Rate{"1/s": {1, time.Second}, "60/m": {60, time.Minute}, "1000000/h": {1000000, time.Hour}} {
		got, err := ParseRate(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseRate(%q) = %v %v, want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1", "/s", "1/", "1/sec", "-1/s", "1000001/s", "01/s", "1.5/s"} {
		if _, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) accepted", s)
		}
	}
}

// FuzzCheck: no input makes the rule parser panic, and a rule it accepts
// compiles and can be evaluated.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"a__*", "a[b", "{a,b}*", "\\", "[!x]?", "**", "file:///*", "{", "[]"} {
		f.Add("r", "allow", "group:a", s, "5/m")
	}
	f.Fuzz(func(t *testing.T, name, effect, principal, tool, rate string) {
		r := rule(name, effect, []string{principal}, []string{tool}, rate)
		if Check(r) != nil {
			return
		}
		s, bad := Compile([]api.Rule{r})
		if len(bad) > 0 {
			t.Fatalf("Check accepted %+v but Compile refused it", r)
		}
		_ = s.Allowed(principalOf(principal), tool)
		_, _ = s.RateFor(principalOf(principal), tool)
	})
}
