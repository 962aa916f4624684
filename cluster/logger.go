package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// memberlistLogger adapts memberlist's *log.Logger lines ("[LEVEL] memberlist:
// message") to slog, at the level memberlist gave them. It also spots the
// one line that says this node suspects a member, since memberlist has no
// hook for suspicion.
type memberlistLogger struct {
	log       *slog.Logger
	onSuspect func(name string)
}

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger.
func newMemberlistLogger(l *slog.Logger, onSuspect func(string)) *log.Logger {
	return log.New(&memberlistLogger{log: l.With("component", "memberlist"), onSuspect: onSuspect}, "", 0)
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
	w.log.Log(context.Background(), level, line)
	return len(p), nil
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
