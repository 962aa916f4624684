// Package wait holds the one polling helper of the project's tests: For
// polls a condition until it holds or a timeout passes, instead of a sleep
// that guesses how long something takes. It imports only the standard
// library, so that the tests of every package, leaves included, can use it.
package wait

import (
	"fmt"
	"testing"
	"time"
)

// Interval is how often For checks its condition.
const Interval = 10 * time.Millisecond

// For checks cond every Interval until it holds. When timeout passes first,
// it fails the test with "timed out after <timeout>: <msg>", msg being a
// fmt format with args. The message is formatted then, at the end of the
// wait: an arg made with Later shows the last state the condition saw.
// cond runs on the test's goroutine and may itself call t.Fatal.
func For(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v: %s", timeout, fmt.Sprintf(msg, args...))
		}
		time.Sleep(Interval)
	}
}

// Later is an argument of For's message whose value is taken when the
// message is formatted, not when For is called: wait.Later(func() any {
// return n.State() }) names the state at the end of the wait.
type Later func() any

// Format formats the value f returns with the verb and flags it is given.
func (f Later) Format(s fmt.State, verb rune) {
	fmt.Fprintf(s, fmt.FormatString(s, verb), f())
}
