// Package testlog is the log sink of the tests: a buffer that a node, a
// process or a logger writes to while the test reads it.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects what is written to it, safe to read while others write.
// With Max > 0 it keeps at most about Max bytes and drops the rest (a
// chatty process cannot fill the test's memory); writes always succeed.
type Buffer struct {
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max <= 0 || b.buf.Len() < b.Max {
		b.buf.Write(p)
	}
	return len(p), nil
}

// String is everything kept so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count is how many times s was logged.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }

// Lines are the kept lines that contain s, joined by newlines.
func (b *Buffer) Lines(s string) string {
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
