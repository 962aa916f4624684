package mcp

import (
	"errors"
	"fmt"
	"iter"
	"testing"
)

// upItems yields n small entries, then stops; it fails the test if it is
// read past limit (a server paging forever must not be read forever).
func upItems(t *testing.T, n, limit int) iter.Seq2[*struct{ Name string }, error] {
	return func(yield func(*struct{ Name string }, error) bool) {
		for i := range n {
			if i > limit {
				t.Errorf("entry %d read, past the cap", i)
				return
			}
			if !yield(&struct{ Name string }{fmt.Sprintf("t%d", i)}, nil) {
				return
			}
		}
	}
}

func TestUpCollectBounds(t *testing.T) {
	cases := []struct {
		name     string
		n        int
		budget   int64
		kept     int
		cuts     []Truncation
		wantCode error
	}{
		{"within both", 10, 1 << 20, 10, nil, nil},
		{"over the count cap", upMaxItems + 5, 1 << 30, upMaxItems, []Truncation{{Reason: CutCount, Entries: 1}}, nil},
		{"over the byte bound", 10, 5 * 13, 5, []Truncation{{Reason: CutBytes, Entries: 5, Bytes: 5 * 13}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newUpBudget(tc.budget)
			out, err := upCollect("tools", upItems(t, tc.n, upMaxItems), b)
			if !errors.Is(err, tc.wantCode) || len(out) != tc.kept {
				t.Fatalf("kept %d, err %v; want %d", len(out), err, tc.kept)
			}
			got := b.truncations()
			if len(got) != len(tc.cuts) || (len(got) > 0 && got[0] != tc.cuts[0]) {
				t.Errorf("cuts %+v, want %+v", got, tc.cuts)
			}
		})
	}
}
