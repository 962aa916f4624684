package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestMemberlistLoggerLimits: a flood of one kind of memberlist error (a
// node with the wrong key) logs one line per period, then one line with
// how many were held back; other kinds and info lines pass untouched.
func TestMemberlistLoggerLimits(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	w := &memberlistLogger{log: slog.New(slog.NewTextHandler(&buf, nil)),
		limit: newLineLimiter(10*time.Second, func() time.Time { return now })}
	write := func(line string, n int) {
		for range n {
			if _, err := w.Write([]byte(line + "\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("[ERR] memberlist: failed to receive: no installed keys could decrypt the message from=127.0.0.1:1", 100)
	write("[WARN] memberlist: Got ping for unexpected node x from=127.0.0.1:2", 2)
	write("[INFO] memberlist: Suspect y has failed, no acks received", 3)
	now = now.Add(11 * time.Second)
	write("[ERR] memberlist: failed to receive: no installed keys could decrypt the message from=127.0.0.1:1", 1)
	out := buf.String()
	for want, n := range map[string]int{"no installed keys": 2, "suppressed=99": 1, "unexpected node": 1, "Suspect y": 3} {
		if got := strings.Count(out, want); got != n {
			t.Errorf("%q logged %d times, want %d:\n%s", want, got, n, out)
		}
	}
}
