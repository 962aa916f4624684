package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogAdapter is a badger.Logger that forwards Badger's warnings and errors
// to a slog.Logger and drops its (chatty) info and debug messages.
type slogAdapter struct {
	log *slog.Logger
}

func newLogger(l *slog.Logger) *slogAdapter {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &slogAdapter{log: l.With("component", "badger")}
}

func (a *slogAdapter) Errorf(format string, args ...any) {
	a.emit(slog.LevelError, format, args)
}

func (a *slogAdapter) Warningf(format string, args ...any) {
	a.emit(slog.LevelWarn, format, args)
}

func (a *slogAdapter) Infof(string, ...any) {}

func (a *slogAdapter) Debugf(string, ...any) {}

func (a *slogAdapter) emit(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	a.log.Log(ctx, level, msg)
}
