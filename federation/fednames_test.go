package federation

import (
	"regexp"
	"strings"
	"testing"
)

func TestFederatedName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	long := strings.Repeat("x", 80)
	tests := []struct {
		peer, name, want string
	}{
		{"gateway-b", "echo", "gateway-b__echo"},
		{"b", "ev__test_simple_text", "b__ev__test_simple_text"},
		{"b", "has space", ""},
		{"b", long, ""},
		{"b", long + "y", ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := FederatedName(tt.peer, tt.name)
		if tt.want != "" && got != tt.want {
			t.Errorf("FederatedName(%q, %q) = %q, want %q", tt.peer, tt.name, got, tt.want)
		}
		if !valid.MatchString(got) || !strings.HasPrefix(got, tt.peer+"__") {
			t.Errorf("FederatedName(%q, %q) = %q: not a valid federated name", tt.peer, tt.name, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q both became %q", other, tt.name, got)
		}
		seen[got] = tt.name
		if FederatedName(tt.peer, tt.name) != got {
			t.Errorf("FederatedName is not deterministic for %q", tt.name)
		}
	}
}
