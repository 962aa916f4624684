package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
)

// listenBuffer bounds the notifications waiting for one listen stream's
// writer; past it a list change is dropped (one already waiting says the
// same) and so is a resource update.
const listenBuffer = 64

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
	filter listenFilter
	out    chan *Message
}

// send queues a notification, tagged with the subscription id; it drops it
// when the stream's writer is that far behind.
func (l *listener) send(method string, params map[string]any) {
	if params == nil {
		params = map[string]any{}
	}
	meta, _ := params["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[MetaSubscriptionID] = l.id
	params["_meta"] = meta
	m, err := NewNotification(method, params)
	if err != nil {
		return
	}
	select {
	case l.out <- m:
	default:
	}
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
func (ls *listeners) listChanged(kind Kind, method string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for l := range ls.set {
		if l.filter.wants(kind) {
			l.send(method, nil)
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
	l := &listener{id: m.ID, filter: *p.Notifications, out: make(chan *Message, listenBuffer)}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	l.filter.ResourceSubscriptions = s.subscribeAll(ctx, l)
	s.listeners.add(l)
	defer s.listeners.remove(l)
	sw := s.startSSE(w, nil)
	l.send("notifications/subscriptions/acknowledged", map[string]any{"notifications": l.filter})
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
			data, _ := json.Marshal(m)
			if sw.message(data) != nil {
				return
			}
		case <-tick:
			if sw.comment("keep-alive") != nil {
				return
			}
		}
	}
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

var _ Peer = (*listenPeer)(nil)

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
