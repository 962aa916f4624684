package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memberlistLogger adapts memberlist's *log.Logger lines ("[LEVEL] memberlist:
// message") to slog, at the level memberlist gave them. It also spots the
// one line that says this node suspects a member, since memberlist has no
// hook for suspicion.
// Its warnings and errors are rate-limited per kind of line: a node that
// keeps sending packets this node cannot read (a wrong gossip key, another
// label) would otherwise log a line per packet.
type memberlistLogger struct {
	log       *slog.Logger
	onSuspect func(name string)
	limit     *lineLimiter
}

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger.
func newMemberlistLogger(l *slog.Logger, onSuspect func(string)) *log.Logger {
	return log.New(&memberlistLogger{log: l.With("component", "memberlist"), onSuspect: onSuspect,
		limit: newLineLimiter(10*time.Second, time.Now)}, "", 0)
}

// levels maps memberlist's prefixes to slog levels.
var levels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug},
	{"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn},
	{"[ERR] ", slog.LevelError},
	{"[ERROR] ", slog.LevelError},
}

// Write logs one line; it never fails.
func (w *memberlistLogger) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	level := slog.LevelInfo
	for _, l := range levels {
		if rest, ok := strings.CutPrefix(line, l.prefix); ok {
			line, level = rest, l.level
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	if name, ok := suspectedName(line); ok && w.onSuspect != nil {
		w.onSuspect(name)
	}
	if level < slog.LevelWarn {
		w.log.Log(context.Background(), level, line)
		return len(p), nil
	}
	if ok, suppressed := w.limit.allow(lineKind(line)); ok {
		var args []any
		if suppressed > 0 {
			args = append(args, "suppressed", suppressed)
		}
		w.log.Log(context.Background(), level, line, args...)
	}
	return len(p), nil
}

// lineKind is what identifies a kind of line: its text before the first
// ':' (memberlist puts the error and the sender after it).
func lineKind(line string) string {
	kind, _, _ := strings.Cut(line, ":")
	return kind
}

// lineLimiter lets one line of each kind through per period, and counts
// the others, reported with the next line of the kind let through.
type lineLimiter struct {
	period time.Duration
	now    func() time.Time
	mu     sync.Mutex
	last   map[string]time.Time
	held   map[string]int
}

func newLineLimiter(period time.Duration, now func() time.Time) *lineLimiter {
	return &lineLimiter{period: period, now: now, last: map[string]time.Time{}, held: map[string]int{}}
}

// allow reports whether a line of kind may be logged now, and how many of
// its kind were held back since the last one.
func (l *lineLimiter) allow(kind string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if last, ok := l.last[kind]; ok && now.Sub(last) < l.period {
		l.held[kind]++
		return false, 0
	}
	if len(l.last) >= 256 { // bounded: many kinds at once means a flood anyway
		clear(l.last)
		clear(l.held)
	}
	l.last[kind] = now
	n := l.held[kind]
	delete(l.held, kind)
	return true, n
}

// suspectedName recognises memberlist's "Suspect X has failed, no acks
// received" (state.go, probeNode), logged when this node's probe of X fails.
func suspectedName(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "Suspect ")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, " has failed, no acks received")
}

// rateLimited logs at most one message per period; the rest are counted and
// the count is reported with the next message. Hostile gossip cannot flood
// the log.
type rateLimited struct {
	log     *slog.Logger
	period  time.Duration
	last    atomic.Int64 // unix ns of the last message logged
	dropped atomic.Int64
}

func (r *rateLimited) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(r.period) || !r.last.CompareAndSwap(last, now) {
		r.dropped.Add(1)
		return
	}
	if n := r.dropped.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Warn(msg, args...)
}
