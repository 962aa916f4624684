package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Bounds of held calls (the --input-timeout and --max-held-requests flags).
const (
	DefaultInputTimeout    = 5 * time.Minute
	DefaultMaxHeldRequests = 1000
	// HeldStatePrefix starts the requestState of a held call.
	HeldStatePrefix = "mcpmesh-held:"
	// heldGather is how long the node waits, after an upstream's first
	// server request of a round, for more before it answers the caller:
	// the go-sdk server fulfils a tool's input requests in parallel, so
	// they arrive within a few milliseconds of each other.
	heldGather = 50 * time.Millisecond
)

// Holds is the node's table of held upstream calls: calls of 2026-07-28
// callers whose legacy upstream sent a server request (sampling,
// elicitation, roots), answered to the caller as input_required and kept
// running until the caller's retry brings the answers. One table serves
// every upstream of a node, so its bound is per node.
type Holds struct {
	max     int
	timeout time.Duration

	mu    sync.Mutex
	calls map[string]*heldCall
}

// NewHolds returns a table holding at most maxHeld calls, each at most
// inputTimeout between its input_required answer and the retry (zero
// values take DefaultMaxHeldRequests and DefaultInputTimeout).
func NewHolds(maxHeld int, inputTimeout time.Duration) *Holds {
	if maxHeld <= 0 {
		maxHeld = DefaultMaxHeldRequests
	}
	if inputTimeout <= 0 {
		inputTimeout = DefaultInputTimeout
	}
	return &Holds{max: maxHeld, timeout: inputTimeout, calls: map[string]*heldCall{}}
}

// Len is the number of calls held now (waiting for their retry).
func (h *Holds) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.calls)
}

// add registers hc under a new id; false when the table is full.
func (h *Holds) add(hc *heldCall) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) >= h.max {
		return "", false
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	h.calls[id] = hc
	return id, true
}

// take removes and returns the call held under id, if it is the one the
// retry may resume: same upstream, principal, method and name. Any
// mismatch is answered as an unknown id, so a retry learns nothing of
// another principal's calls.
func (h *Holds) take(id string, u *Upstream, who Principal, method, name string) (*heldCall, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hc := h.calls[id]
	if hc == nil || hc.up != u || hc.principal != who || hc.method != method || hc.name != name {
		return nil, Errorf(CodeInvalidParams, "invalid requestState: no held call %q for this %s (unknown, expired, already resumed, or not the caller's)", id, method)
	}
	delete(h.calls, id)
	return hc, nil
}

// drop removes hc if it is still held under id.
func (h *Holds) drop(id string, hc *heldCall) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.calls[id] != hc {
		return false
	}
	delete(h.calls, id)
	return true
}

// heldState is the held call id in params.requestState, if it names one.
func heldState(params json.RawMessage) (string, bool) {
	if !bytes.Contains(params, []byte(HeldStatePrefix)) && !bytes.Contains(params, []byte(`\`)) {
		return "", false // a first try: not decoded (the prefix is not there, not even escaped)
	}
	var p struct {
		RequestState string `json:"requestState"`
	}
	if json.Unmarshal(params, &p) != nil {
		return "", false
	}
	return strings.CutPrefix(p.RequestState, HeldStatePrefix)
}

// heldReq is one server request of the upstream waiting for the caller.
type heldReq struct {
	method string
	params json.RawMessage
	asked  bool // sent to the caller in the current round
	answer chan heldAnswer
}

type heldAnswer struct {
	raw json.RawMessage
	err error
}

// heldCall is one upstream call of a 2026-07-28 caller, detached from the
// caller's HTTP request. It stands in as the call's Client upstream: the
// upstream's server requests become pending input requests, its progress
// and log messages go to whichever request of the caller is current.
type heldCall struct {
	up        *Upstream
	principal Principal
	method    string
	name      string
	caps      json.RawMessage
	sid       string
	cancel    context.CancelFunc // ends the upstream call
	wake      chan struct{}      // a server request arrived
	done      chan struct{}      // closed with the outcome
	res       json.RawMessage
	err       error

	mu      sync.Mutex
	peer    Client          // the current request of the caller, or noClient
	token   json.RawMessage // its progress token
	seq     int
	pending map[string]*heldReq
	id      string // held under this id, "" while a request waits on it
	expiry  *time.Timer
}

var _ Client = (*heldCall)(nil)

func newHeldCall(ctx context.Context, u *Upstream, req *Request, peer Client, token json.RawMessage) *heldCall {
	name, _ := nameOf(&Message{Method: req.Method, Params: req.Params})
	return &heldCall{
		up: u, principal: PrincipalFrom(ctx), method: req.Method, name: name,
		caps: peer.Capabilities(), sid: "held-" + randomHex(),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		peer: peer, token: token, pending: map[string]*heldReq{},
	}
}

func (hc *heldCall) SessionID() string             { return hc.sid }
func (hc *heldCall) Capabilities() json.RawMessage { return hc.caps }
func (hc *heldCall) Done() <-chan struct{}         { return hc.done }

func (hc *heldCall) LogLevel() string {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return hc.peer.LogLevel()
}

// Notify passes a notification to the caller's current request; progress
// carries that request's own token (none: dropped).
func (hc *heldCall) Notify(ctx context.Context, method string, params any) error {
	hc.mu.Lock()
	peer, token := hc.peer, hc.token
	hc.mu.Unlock()
	if method == "notifications/progress" {
		if token == nil {
			return nil
		}
		p, err := upWithField(params, "progressToken", token)
		if err != nil {
			return err
		}
		params = p
	}
	return peer.Notify(ctx, method, params)
}

// Request makes a server request pending and waits for the caller's retry
// to answer it (or the hold to end).
func (hc *heldCall) Request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	r := &heldReq{method: method, params: raw, answer: make(chan heldAnswer, 1)}
	key := hc.addPending(r)
	select {
	case hc.wake <- struct{}{}:
	default:
	}
	select {
	case a := <-r.answer:
		return a.raw, a.err
	case <-ctx.Done():
		hc.removePending(key)
		return nil, ctx.Err()
	case <-hc.done:
		return nil, fmt.Errorf("the call this %s belongs to has ended", method)
	}
}

func (hc *heldCall) addPending(r *heldReq) string {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.seq++
	short, _, _ := strings.Cut(r.method, "/")
	key := fmt.Sprintf("%s-%d", short, hc.seq)
	hc.pending[key] = r
	return key
}

func (hc *heldCall) removePending(key string) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	delete(hc.pending, key)
}

// finish records the upstream call's outcome.
func (hc *heldCall) finish(res json.RawMessage, err error) {
	hc.res, hc.err = res, err
	close(hc.done)
}

// failPending answers every pending server request with err.
func (hc *heldCall) failPending(err error) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for key, r := range hc.pending {
		r.answer <- heldAnswer{err: err}
		delete(hc.pending, key)
	}
}
