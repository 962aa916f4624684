package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store"
)

func openT(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOptionsAreSmallAndSynced(t *testing.T) {
	o := openT(t, t.TempDir(), Options{}).db.Opts()
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"SyncWrites", o.SyncWrites, o.SyncWrites},
		{"MemTableSize <= 8MiB", o.MemTableSize <= 8<<20, o.MemTableSize},
		{"NumMemtables <= 2", o.NumMemtables <= 2, o.NumMemtables},
		{"NumLevelZeroTables <= 2", o.NumLevelZeroTables <= 2, o.NumLevelZeroTables},
		{"BlockCacheSize <= 4MiB", o.BlockCacheSize <= 4<<20, o.BlockCacheSize},
		{"IndexCacheSize <= 2MiB", o.IndexCacheSize <= 2<<20, o.IndexCacheSize},
		{"ValueLogFileSize <= 16MiB", o.ValueLogFileSize <= 16<<20, o.ValueLogFileSize},
		{"NumCompactors == 2", o.NumCompactors == 2, o.NumCompactors},
		{"MetricsEnabled off", !o.MetricsEnabled, o.MetricsEnabled},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Fatalf("want %s, got %v", c.name, c.got)
			}
		})
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	inUse := t.TempDir()
	openT(t, inUse, Options{})
	tests := []struct {
		name, dir string
		opts      Options
		want      string
	}{
		{"no dir", "", Options{}, "dir is required"},
		{"dir with in-memory", t.TempDir(), Options{InMemory: true}, "must be empty"},
		{"dir is a file", file, Options{}, file},
		{"dir already open", inUse, Options{}, inUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.dir, tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q, %+v) succeeded, want an error", tc.dir, tc.opts)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// A batch larger than one Badger transaction is refused whole.
func TestBatchTooBigWritesNothing(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	var ops []store.Op
	for i := range 2000 {
		ops = append(ops, store.Op{Key: fmt.Sprintf("big/%04d", i), Value: bytes.Repeat([]byte{'v'}, 1024)})
	}
	if err := s.Batch(ops); err == nil {
		t.Fatal("Batch of 2000 x 1KiB succeeded, want a too-big error")
	}
	n := 0
	if err := s.Scan("big/", func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if n != 0 {
		t.Fatalf("refused batch left %d keys, want 0", n)
	}
	if err := s.Batch(ops[:100]); err != nil {
		t.Fatalf("Batch of 100 x 1KiB: %v", err)
	}
}

// Close waits for a Scan in progress; calls made meanwhile fail with
// ErrClosed instead of deadlocking.
func TestCloseWaitsForCallsInProgress(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	if err := s.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	err := s.Scan("", func(string, []byte) error {
		go func() { closed <- s.Close() }()
		// A failing wait ends the test from inside fn; Scan's deferred exits
		// still run, so Close is not left waiting.
		wait.For(t, 10*time.Second, func() bool {
			return errors.Is(s.Put("k2", []byte("v")), store.ErrClosed)
		}, "a Put during a Close that waits for this Scan to fail with ErrClosed")
		if len(closed) != 0 {
			return errors.New("Close returned while a Scan was still in progress")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the Scan ended")
	}
}

func TestLoggerForwardsWarningsAndErrorsOnly(t *testing.T) {
	tests := []struct {
		name string
		log  func(a *slogAdapter)
		want string
	}{
		{"error", func(a *slogAdapter) { a.Errorf("disk %s\n", "full") }, "level=ERROR msg=\"disk full\" component=badger\n"},
		{"warning", func(a *slogAdapter) { a.Warningf("slow %d", 3) }, "level=WARN msg=\"slow 3\" component=badger\n"},
		{"info dropped", func(a *slogAdapter) { a.Infof("replaying") }, ""},
		{"debug dropped", func(a *slogAdapter) { a.Debugf("x") }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level: slog.LevelDebug,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			})
			tc.log(newLogger(slog.New(h)))
			if buf.String() != tc.want {
				t.Fatalf("logged %q, want %q", buf.String(), tc.want)
			}
		})
	}
	newLogger(nil).Errorf("discarded") // a nil Logger must not panic
}
