package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxKeptStreams bounds the finished request streams a session keeps for
// resumption.
const maxKeptStreams = 64

// session is one initialized client: its negotiated state, its streams,
// the requests it has in flight and the requests the server sent it.
type session struct {
	id      string
	owner   Principal // who initialized it; only they may use it
	srv     *Server   // the endpoint that opened it; only it finds it
	version string
	caps    json.RawMessage
	ctx     context.Context
	cancel  context.CancelFunc

	logLevel atomic.Value // string
	lastUsed atomic.Int64 // unix nanos
	// users counts the HTTP requests using the session right now; taken
	// under the Server's read lock (ownedSession), so a session is never
	// evicted between being looked up and being used.
	users  atomic.Int32
	nextID atomic.Int64 // ids of server-to-client requests

	mu         sync.Mutex
	streams    map[int]*stream
	order      []int // request stream ids, oldest first
	nextStream int
	getActive  bool
	inflight   map[string]context.CancelFunc // client request id → cancel
	pending    map[string]chan *Message      // server request id → answer
}

// newSession starts a session whose requests see the values of parent (the
// initialize request's context: auth, principal, forwarding marks) but not
// its end. It belongs to parent's Principal; id is its Mcp-Session-Id.
func newSession(parent context.Context, id, version string, caps json.RawMessage) *session {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	s := &session{
		id: id, owner: PrincipalFrom(parent), version: version, caps: caps, ctx: ctx, cancel: cancel,
		streams: map[int]*stream{0: newStream(0)}, nextStream: 1,
		inflight: map[string]context.CancelFunc{}, pending: map[string]chan *Message{},
	}
	s.logLevel.Store("")
	s.touch()
	return s
}

func (s *session) touch() { s.lastUsed.Store(time.Now().UnixNano()) }

func (s *session) idleFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, s.lastUsed.Load()))
}

// close ends the session: its streams finish, its requests are cancelled.
func (s *session) close() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		st.finish()
	}
}

// standalone is the stream a GET follows.
func (s *session) standalone() *stream { return s.stream(0) }

func (s *session) stream(id int) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// newRequestStream opens a stream for one POSTed request, forgetting the
// oldest finished ones beyond maxKeptStreams.
func (s *session) newRequestStream() *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := newStream(s.nextStream)
	s.nextStream++
	s.streams[st.id] = st
	s.order = append(s.order, st.id)
	if len(s.order) > maxKeptStreams {
		delete(s.streams, s.order[0])
		s.order = s.order[1:]
	}
	return st
}

// claimGET marks the standalone stream as followed; only one GET at a time.
func (s *session) claimGET() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getActive {
		return false
	}
	s.getActive = true
	return true
}

func (s *session) releaseGET() {
	s.mu.Lock()
	s.getActive = false
	s.mu.Unlock()
}

// track registers a cancel func for the client's request id.
func (s *session) track(id json.RawMessage, cancel context.CancelFunc) func() {
	key := string(id)
	s.mu.Lock()
	s.inflight[key] = cancel
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
	}
}

// cancelRequest cancels the in-flight request with the given id, if any.
func (s *session) cancelRequest(id json.RawMessage) {
	s.mu.Lock()
	cancel := s.inflight[string(id)]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// request sends a server-to-client request on st and waits for the answer.
func (s *session) request(ctx context.Context, st *stream, method string, params any) (json.RawMessage, error) {
	p, err := marshalParams(params)
	if err != nil {
		return nil, err
	}
	id := json.RawMessage(fmt.Sprintf(`"mcpmesh-%d"`, s.nextID.Add(1)))
	ch := make(chan *Message, 1)
	s.mu.Lock()
	s.pending[string(id)] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, string(id))
		s.mu.Unlock()
	}()
	if !st.send(&Message{JSONRPC: "2.0", ID: id, Method: method, Params: p}) {
		return nil, fmt.Errorf("%s: the client's stream is closed", method)
	}
	return awaitAnswer(ctx, s.ctx, ch, method)
}

func awaitAnswer(ctx, sessCtx context.Context, ch chan *Message, method string) (json.RawMessage, error) {
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, m.Error
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	case <-sessCtx.Done():
		return nil, fmt.Errorf("%s: session closed", method)
	}
}

// answer delivers a client's response to a server request; false if none waits.
func (s *session) answer(m *Message) bool {
	s.mu.Lock()
	ch := s.pending[string(m.ID)]
	s.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case ch <- m:
	default:
	}
	return true
}

// quiet reports whether nothing is attached to the session: no HTTP
// request using it, no GET stream and no request in flight.
func (s *session) quiet() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users.Load() == 0 && !s.getActive && len(s.inflight) == 0
}

// release ends one HTTP request's use of the session (see users).
func (s *session) release() { s.users.Add(-1) }
