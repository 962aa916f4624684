package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/natefinch/lumberjack.v2"
)

// The audit log (--audit-log): one JSON line per tools/call, prompts/get,
// resources/read and admin write, written off the request's path: a
// request puts its record on a bounded channel and goes on; one goroutine
// writes the lines. When the channel is full the record is dropped and
// counted (mcpmesh_audit_lines_total{result="dropped"}): a call never
// waits for the log. See docs/audit.md.

// Defaults of the audit log.
const (
	DefaultAuditBuffer  = 4096 // records waiting to be written, at most
	DefaultAuditMaxMB   = 100  // size of the file before it is rotated
	DefaultAuditBackups = 5    // rotated files kept
)

// OpenAudit opens the audit log's sink: "-" is standard output (never
// closed); a file is appended to and rotated at maxMB megabytes, keeping
// backups rotated files (FILE-<time>.<ext>), so it takes at most
// (backups+1) × maxMB on disk. The file is created now, so a path that
// cannot be written is an error at start.
func OpenAudit(path string, maxMB, backups int) (io.WriteCloser, error) {
	switch {
	case path == "":
		return nil, errors.New("audit log: no path (use - for standard output)")
	case path == "-":
		return nopCloser{os.Stdout}, nil
	case maxMB <= 0 || backups < 0:
		return nil, fmt.Errorf("audit log: max size %d MB must be positive and backups %d not negative", maxMB, backups)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	_ = f.Close()
	return &lumberjack.Logger{Filename: filepath.Clean(path), MaxSize: maxMB, MaxBackups: backups}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// auditLog writes audit records; a nil *auditLog writes nothing.
type auditLog struct {
	mu     sync.RWMutex // held to send, taken to close
	closed bool
	ch     chan auditRecord
	out    io.WriteCloser
	lines  *prometheus.CounterVec
	log    *slog.Logger
	done   chan struct{}
}

// newAuditLog starts the writer of out, with room for buffer records.
func newAuditLog(out io.WriteCloser, buffer int, reg *prometheus.Registry, log *slog.Logger) *auditLog {
	if buffer <= 0 {
		buffer = DefaultAuditBuffer
	}
	a := &auditLog{ch: make(chan auditRecord, buffer), out: out, log: log, done: make(chan struct{}),
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mcpmesh_audit_lines_total",
			Help: "Audit log lines: written, dropped (the writer was behind: the buffer was full), failed (the write failed)."},
			[]string{"result"})}
	reg.MustRegister(a.lines)
	go a.run()
	return a
}

// add queues r for writing, or drops it (counted) when the buffer is full.
func (a *auditLog) add(r auditRecord) {
	if a == nil {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return
	}
	select {
	case a.ch <- r:
	default:
		a.lines.WithLabelValues("dropped").Inc()
	}
}

// run writes the queued records, flushing whenever the queue is empty.
func (a *auditLog) run() {
	defer close(a.done)
	bw := bufio.NewWriter(a.out)
	for r := range a.ch {
		a.write(bw, r)
		if len(a.ch) == 0 {
			a.flush(bw)
		}
	}
	a.flush(bw)
	if err := a.out.Close(); err != nil {
		a.log.Warn("audit log: close", "err", err)
	}
}

func (a *auditLog) write(bw *bufio.Writer, r auditRecord) {
	b, err := json.Marshal(r)
	if err == nil {
		_, err = bw.Write(append(b, '\n'))
	}
	if err != nil {
		a.lines.WithLabelValues("failed").Inc()
		a.log.Warn("audit log: write", "err", err)
		return
	}
	a.lines.WithLabelValues("written").Inc()
}

func (a *auditLog) flush(bw *bufio.Writer) {
	if err := bw.Flush(); err != nil {
		a.log.Warn("audit log: write", "err", err)
	}
}

// close writes what is queued, flushes and closes the sink; records added
// afterwards are ignored. Safe to call more than once.
func (a *auditLog) close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}

// auditRecord is one line of the audit log (docs/audit.md).
type auditRecord struct {
	Time      time.Time       `json:"time"`
	Node      string          `json:"node"`
	Principal auditPrincipal  `json:"principal"`
	Method    string          `json:"method"`
	Name      string          `json:"name,omitempty"`
	Source    string          `json:"source,omitempty"`
	Provider  string          `json:"provider,omitempty"`
	Outcome   string          `json:"outcome"`
	Error     string          `json:"error,omitempty"`
	Code      int             `json:"code,omitempty"`
	Duration  float64         `json:"duration_ms"`
	RequestID json.RawMessage `json:"request_id,omitempty"`
	Relayed   bool            `json:"relayed,omitempty"`
}

type auditPrincipal struct {
	Subject string   `json:"sub"`
	Issuer  string   `json:"iss,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Node    bool     `json:"node,omitempty"`
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
