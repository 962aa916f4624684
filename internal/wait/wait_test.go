package wait_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// recorder is a testing.TB that records a Fatalf instead of failing the
// test that uses it, and ends the goroutine as Fatalf would.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(r)
}

// run calls For on a recorder and returns its fatal message ("" if none).
func run(timeout time.Duration, cond func() bool, msg string, args ...any) (fatal string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		fatal = r.fatal
	}()
	wait.For(r, timeout, cond, msg, args...)
	return ""
}

func TestFor(t *testing.T) {
	var n atomic.Int64
	tests := []struct {
		name string
		cond func() bool
		msg  string
		args []any
		want string // the fatal message; "" when the condition comes true
	}{
		{"holds at once", func() bool { return true }, "never", nil, ""},
		{"holds after a few checks", func() bool { return n.Add(1) >= 3 }, "never", nil, ""},
		{"never holds", func() bool { return false }, "%s to be %d", []any{"x", 7}, "timed out after 50ms: x to be 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n.Store(0)
			got := run(50*time.Millisecond, tc.cond, tc.msg, tc.args...)
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Fatalf("fatal %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLaterIsTakenAtTheEnd(t *testing.T) {
	var n atomic.Int64
	got := run(50*time.Millisecond, func() bool { n.Add(1); return false }, "checked %d times", wait.Later(func() any { return n.Load() }))
	if got == "timed out after 50ms: checked 0 times" || got == "timed out after 50ms: checked 1 times" || !strings.HasPrefix(got, "timed out after 50ms: checked ") {
		t.Fatalf("fatal %q, want the count at the end of the wait (more than 1)", got)
	}
}
