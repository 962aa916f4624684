package cluster

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// fakeTime is a settable wall clock.
type fakeTime struct{ t time.Time }

func (f *fakeTime) now() time.Time { return f.t }

func TestClockMonotonic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ft := &fakeTime{t: time.UnixMilli(1_700_000_000_000)}
		c := NewClock(ft.now)
		prev := c.Now()
		for i, step := range rapid.SliceOfN(rapid.IntRange(-5, 5), 1, 50).Draw(t, "steps") {
			ft.t = ft.t.Add(time.Duration(step) * time.Millisecond) // the wall clock may go back
			var got HLC
			if rapid.Bool().Draw(t, "remote") {
				remote := HLC{Wall: prev.Wall + int64(rapid.IntRange(-3, 3).Draw(t, "rwall")), Logical: uint32(rapid.IntRange(0, 3).Draw(t, "rlog"))}
				got = c.Update(remote)
				if got.Compare(remote) <= 0 {
					t.Fatalf("step %d: Update(%v) = %v, not after the remote", i, remote, got)
				}
			} else {
				got = c.Now()
			}
			if got.Compare(prev) <= 0 {
				t.Fatalf("step %d: %v not after %v", i, got, prev)
			}
			prev = got
		}
	})
}

func TestHLC(t *testing.T) {
	tests := []struct {
		name string
		a, b HLC
		want int
	}{
		{"wall decides", HLC{Wall: 2}, HLC{Wall: 1, Logical: 9}, 1},
		{"logical breaks ties", HLC{Wall: 1, Logical: 1}, HLC{Wall: 1, Logical: 2}, -1},
		{"equal", HLC{Wall: 1, Logical: 1}, HLC{Wall: 1, Logical: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Fatalf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
	if got := (HLC{Wall: 5, Logical: math.MaxUint32}).next(); got != (HLC{Wall: 6}) {
		t.Fatalf("next at the logical limit = %v, want 6.0", got)
	}
	if !(HLC{}).IsZero() || (HLC{Wall: 1}).String() != "1.0" {
		t.Fatal("IsZero or String is wrong")
	}
}
