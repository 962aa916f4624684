package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
)

// listenBuffer bounds the resource updates waiting for one listen stream's
// writer; past it an update is dropped. List changes do not queue: each
// kind is one flag the writer clears as it writes the notification, so a
// list change is never lost behind a slow writer, only merged with one of
// the same kind that has not gone out yet (they say the same).
const listenBuffer = 64

// listMethods are the list-change notifications, by listIndex.
var listMethods = [3]string{"notifications/tools/list_changed", "notifications/prompts/list_changed",
	"notifications/resources/list_changed"}

// listIndex is kind's index in listMethods (resource templates are
// announced as resources).
func listIndex(kind Kind) int {
	switch kind {
	case KindTool:
		return 0
	case KindPrompt:
		return 1
	}
	return 2
}

// listenFilter is the notifications a subscriptions/listen caller opted in
// to, as the revision names them.
type listenFilter struct {
	ToolsListChanged      bool     `json:"toolsListChanged,omitempty"`
	PromptsListChanged    bool     `json:"promptsListChanged,omitempty"`
	ResourcesListChanged  bool     `json:"resourcesListChanged,omitempty"`
	ResourceSubscriptions []string `json:"resourceSubscriptions,omitempty"`
}

// wants reports whether the filter opted in to the list changes of kind.
func (f listenFilter) wants(kind Kind) bool {
	switch kind {
	case KindTool:
		return f.ToolsListChanged
	case KindPrompt:
		return f.PromptsListChanged
	}
	return f.ResourcesListChanged
}

// listener is one open subscriptions/listen stream.
type listener struct {
	id     json.RawMessage // the listen request's id: the subscriptionId
	who    Principal       // the caller that opened it
	filter listenFilter
	out    chan *Message  // resource updates
	lists  [3]atomic.Bool // list changes not written yet, by listIndex
	wake   chan struct{}  // a list change is waiting (room for one)
}

func newListener(id json.RawMessage, filter listenFilter) *listener {
	return &listener{id: id, filter: filter, out: make(chan *Message, listenBuffer), wake: make(chan struct{}, 1)}
}

// tagged is a notification tagged with the subscription id.
func (l *listener) tagged(method string, params map[string]any) (*Message, error) {
	if params == nil {
		params = map[string]any{}
	}
	meta, _ := params["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[MetaSubscriptionID] = l.id
	params["_meta"] = meta
	return NewNotification(method, params)
}

// send queues a notification; it drops it when the stream's writer is that
// far behind.
func (l *listener) send(method string, params map[string]any) {
	m, err := l.tagged(method, params)
	if err != nil {
		return
	}
	select {
	case l.out <- m:
	default:
	}
}

// listChanged marks a list change of kind as due and wakes the writer.
func (l *listener) listChanged(kind Kind) {
	l.lists[listIndex(kind)].Store(true)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// dueLists are the list-change notifications due now, clearing them.
func (l *listener) dueLists() []*Message {
	var out []*Message
	for i := range l.lists {
		if l.lists[i].Swap(false) {
			if m, err := l.tagged(listMethods[i], nil); err == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// listeners is the Server's set of open listen streams.
type listeners struct {
	mu  sync.Mutex
	set map[*listener]struct{}
}

func (ls *listeners) add(l *listener) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.set == nil {
		ls.set = map[*listener]struct{}{}
	}
	ls.set[l] = struct{}{}
}

func (ls *listeners) remove(l *listener) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(ls.set, l)
}

// listChanged tells every stream that opted in to kind's list changes.
func (ls *listeners) listChanged(kind Kind) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for l := range ls.set {
		if l.filter.wants(kind) {
			l.listChanged(kind)
		}
	}
}

// listChangedFor tells the streams that opted in to kind's list changes
// and whose caller affected reports.
func (ls *listeners) listChangedFor(kind Kind, affected func(Principal) bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for l := range ls.set {
		if l.filter.wants(kind) && affected(l.who) {
			l.listChanged(kind)
		}
	}
}

// serveListen answers subscriptions/listen: an SSE stream that starts with
// notifications/subscriptions/acknowledged (the filter the node honours)
// and then carries the opted-in list changes and resource updates, each
// tagged with the subscription id, until the client closes it or the
// Server closes (then it ends with the listen request's result).
func (s *Server) serveListen(w http.ResponseWriter, r *http.Request, m *Message) {
	var p struct {
		Notifications *listenFilter `json:"notifications"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.Notifications == nil {
		writeMessage(w, http.StatusBadRequest, NewErrorResponse(m.ID,
			Errorf(CodeInvalidParams, `invalid params: subscriptions/listen needs a "notifications" object`)))
		return
	}
	l := newListener(m.ID, *p.Notifications)
	l.who = PrincipalFrom(r.Context())
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	l.filter.ResourceSubscriptions = s.subscribeAll(ctx, l)
	ack, err := l.tagged("notifications/subscriptions/acknowledged", map[string]any{"notifications": l.filter})
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, NewErrorResponse(m.ID, Errorf(CodeInternalError, "subscriptions/listen: %v", err)))
		return
	}
	s.listeners.add(l) // from here no list change is missed: it waits for the acknowledgement to go first
	defer s.listeners.remove(l)
	sw := s.startSSE(w, nil)
	if data, _ := json.Marshal(ack); sw.message(data) != nil {
		return
	}
	s.followListen(ctx, sw, l)
}

// followListen writes the stream until ctx ends, a write fails, or the
// Server closes.
func (s *Server) followListen(ctx context.Context, sw *sseWriter, l *listener) {
	tick, stop := sw.ticks()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			res, _ := json.Marshal(map[string]any{"resultType": "complete",
				"_meta": map[string]any{MetaSubscriptionID: l.id, MetaServerInfo: s.serverInfo()}})
			data, _ := json.Marshal(NewResponse(l.id, res))
			_ = sw.message(data)
			return
		case m := <-l.out:
			if writeAll(sw, m) != nil {
				return
			}
		case <-l.wake:
			if writeAll(sw, l.dueLists()...) != nil {
				return
			}
		case <-tick:
			if sw.comment("keep-alive") != nil {
				return
			}
		}
	}
}

// writeAll writes each message as one event.
func writeAll(sw *sseWriter, ms ...*Message) error {
	for _, m := range ms {
		data, _ := json.Marshal(m)
		if err := sw.message(data); err != nil {
			return err
		}
	}
	return nil
}

// subscribeAll subscribes the stream to its resources through the Backend,
// for as long as ctx lasts; it returns the URIs that took (the others are
// left out of the acknowledgement).
func (s *Server) subscribeAll(ctx context.Context, l *listener) []string {
	var ok []string
	peer := &listenPeer{l: l, sid: "listen-" + randomHex(), done: ctx.Done()}
	for _, uri := range l.filter.ResourceSubscriptions {
		params, _ := json.Marshal(map[string]string{"uri": uri})
		if _, err := s.backend.Call(ctx, &Request{Method: "resources/subscribe", Params: params, Client: peer}); err != nil {
			s.log.Debug("subscriptions/listen: resource subscription refused", "uri", uri, "err", err)
			continue
		}
		ok = append(ok, uri)
	}
	return ok
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listenPeer is a listen stream as the Backend sees it while it holds the
// stream's resource subscriptions: its updates go on the stream, tagged.
// Its SessionID stands for the stream (the Backend keys subscriptions by
// it); it ends with the stream.
type listenPeer struct {
	l    *listener
	sid  string
	done <-chan struct{}
}

var _ Client = (*listenPeer)(nil)

func (p *listenPeer) SessionID() string             { return p.sid }
func (p *listenPeer) Capabilities() json.RawMessage { return json.RawMessage("{}") }
func (p *listenPeer) LogLevel() string              { return "" }
func (p *listenPeer) Done() <-chan struct{}         { return p.done }

// Notify passes resource updates to the stream; nothing else belongs there.
func (p *listenPeer) Notify(_ context.Context, method string, params any) error {
	if method != "notifications/resources/updated" {
		return nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	p.l.send(method, m)
	return nil
}

func (p *listenPeer) Request(context.Context, string, any) (json.RawMessage, error) {
	return nil, errNoInputRequired
}
