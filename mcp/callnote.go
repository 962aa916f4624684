package mcp

import (
	"context"
	"sync"
)

// A call note is what the layers under the Server learn while they serve
// one request and the Server's OnCall hook reports (CallInfo.Source,
// CallInfo.Provider): which source served it (a peer, a service) and which
// node ran it, and whether an access rule refused it (CallInfo.Denied).
// Layers that learn nothing leave it empty.
type callNote struct {
	mu               sync.Mutex
	source, provider string
	denied           bool
}

type callNoteKey struct{}

// withCallNote returns ctx carrying a fresh note for one request.
func withCallNote(ctx context.Context) (context.Context, *callNote) {
	n := &callNote{}
	return context.WithValue(ctx, callNoteKey{}, n), n
}

// NoteSource records, for the request ctx belongs to, the source that
// serves it (a peer's or a service's name) and the node that ran it. A
// later note replaces an earlier one (a service call that failed over).
// Outside a request served by a Server it does nothing.
func NoteSource(ctx context.Context, source, provider string) {
	n, _ := ctx.Value(callNoteKey{}).(*callNote)
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.source, n.provider = source, provider
}

// NoteDenied records that the request ctx belongs to was refused by an
// access rule (whatever the caller is told: a refused tool answers as an
// unknown one), so that the audit log says denied.
func NoteDenied(ctx context.Context) {
	n, _ := ctx.Value(callNoteKey{}).(*callNote)
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.denied = true
}

// fill copies the note into ci.
func (n *callNote) fill(ci *CallInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ci.Source, ci.Provider, ci.Denied = n.source, n.provider, n.denied
}
