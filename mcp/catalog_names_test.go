package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// namedSource lists fixed tools and prompts by name.
type namedSource struct{ tools, prompts []string }

func (s namedSource) Snapshot() Definitions {
	var d Definitions
	for _, n := range s.tools {
		d.Tools = append(d.Tools, json.RawMessage(`{"name":"`+n+`","inputSchema":{"type":"object"}}`))
	}
	for _, n := range s.prompts {
		d.Prompts = append(d.Prompts, json.RawMessage(`{"name":"`+n+`"}`))
	}
	return d
}

func (namedSource) Call(context.Context, *Request) (json.RawMessage, error) {
	return ToolText("x"), nil
}

// TestCatalogReservedNames: a source whose prefix, or the head of one of
// whose listed names, is reserved (a peer's name) is refused naming both,
// and nothing is added; others are not.
func TestCatalogReservedNames(t *testing.T) {
	reserved := func(head string) (string, bool) { return `peer "gb"`, head == "gb" }
	tests := []struct {
		name, prefix string
		src          namedSource
		mention      []string // empty: accepted
	}{
		{"prefix is a peer name", "gb", namedSource{tools: []string{"whoami"}}, []string{`"gb"`, `"up"`, `peer "gb"`}},
		{"prefix is a peer name, no tools yet", "gb", namedSource{}, []string{`"gb"`, `peer "gb"`}},
		{"bare tool under a peer's head", "", namedSource{tools: []string{"gb__whoami"}}, []string{`"gb__whoami"`, `"up"`, `peer "gb"`}},
		{"bare prompt under a peer's head", "", namedSource{prompts: []string{"gb__p"}}, []string{"prompt", `"gb__p"`}},
		{"other prefix", "gc", namedSource{tools: []string{"gb__whoami"}}, nil},
		{"no head", "", namedSource{tools: []string{"gb_whoami", "gb"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCatalog("node-a", slog.New(slog.DiscardHandler))
			c.SetReserved(reserved)
			err := c.Add("up", tt.prefix, tt.src)
			if len(tt.mention) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("Add = %v; want ErrConflict", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %s", err, m)
				}
			}
			if len(c.Names()) != 0 {
				t.Errorf("a refused source was added: %v", c.Names())
			}
		})
	}
}

// TestCatalogHolder: the catalog tells which source holds a head, by its
// prefix or by a listed name, so that a peer of that name can be refused.
func TestCatalogHolder(t *testing.T) {
	c := NewCatalog("node-a", slog.New(slog.DiscardHandler))
	if err := c.Add("pre", "up", namedSource{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("bare", "", namedSource{tools: []string{"gb__whoami", "plain"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ head, want string }{
		{"up", `prefix "up" of server "pre"`},
		{"gb", `tool "gb__whoami" of server "bare"`},
		{"plain", ""},
		{"other", ""},
	}
	for _, tt := range tests {
		t.Run(tt.head, func(t *testing.T) {
			got, ok := c.Holder(tt.head)
			if ok != (tt.want != "") || !strings.Contains(got, tt.want) {
				t.Fatalf("Holder(%q) = %q, %v; want %q", tt.head, got, ok, tt.want)
			}
		})
	}
	c.Remove("pre")
	if got, ok := c.Holder("up"); ok {
		t.Fatalf("after removing its source, Holder(up) = %q", got)
	}
}
