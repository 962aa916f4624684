package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/mcpmesh/mcpmesh/mcp"
	"go.opentelemetry.io/otel/attribute"
)

// send forwards req to the peer: one stateless 2026-07-28 POST (the hop),
// whose answer streams back the request's progress and log messages (SSE)
// when there are any, and is plain JSON otherwise; cancelling ctx aborts
// the POST, which cancels the request on the peer. The peer asks the
// caller for input (sampling, elicitation, roots) as an input_required
// result, which this node's mcp.Server passes on or translates for a
// legacy caller. Only resource subscriptions go through the link's MCP
// session, and so does every request to a peer that does not serve
// 2026-07-28 (hopversion.go).
func (f *Engine) send(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, error) {
	if needsSession(req) || !f.speaksHop(ctx, l) {
		l.awaitUp(ctx)
		return l.up.Call(ctx, req)
	}
	return f.hop(ctx, l, req)
}

// needsSession reports whether a forwarded request needs the link's
// session: a resource subscription (2026-07-28 has none: its updates come
// through the link's session).
func needsSession(req *mcp.Request) bool {
	return req.Method == "resources/subscribe" || req.Method == "resources/unsubscribe"
}

// hop sends req as one 2026-07-28 POST to the peer's /mcp, with a node
// token for the peer that names the caller's principal, and relays the
// notifications its answer streams to the caller.
func (f *Engine) hop(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, error) {
	m, err := f.roundTrip(ctx, l, req)
	switch {
	case err == nil && m.Error != nil:
		return nil, legacyError(req.Method, m.Error)
	case err == nil:
		return mcp.StripStatelessResult(m.Result), nil
	}
	return nil, err
}

// roundTrip POSTs req to the peer as a 2026-07-28 request and reads its
// answer (a result or a JSON-RPC error), relaying the notifications before
// it; an error is mcp.ErrResultTooLarge or wraps mcp.ErrUnreachable.
func (f *Engine) roundTrip(ctx context.Context, l *peerLink, req *mcp.Request) (*mcp.Message, error) {
	t := f.cfg.Tracing
	if t == nil {
		return f.post(ctx, l, req)
	}
	ctx, span := t.StartClient(ctx, req.Method, req.View(), hopAttrs(l)...)
	m, err := f.post(ctx, l, req)
	var res json.RawMessage
	if m != nil {
		res = m.Result
	}
	mcp.EndClient(span, res, hopSpanError(m, err))
	return m, err
}

// hopAttrs are the attributes of a hop's span: the peer and its address.
func hopAttrs(l *peerLink) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String(mcp.AttrPeer, l.record().Name)}
	if l.endpoint != nil {
		attrs = append(attrs, attribute.String("server.address", l.endpoint.Host))
	}
	return attrs
}

// hopSpanError is what failed on the hop, for its span: a transport error
// or the peer's JSON-RPC error.
func hopSpanError(m *mcp.Message, err error) error {
	if err == nil && m != nil && m.Error != nil {
		return m.Error
	}
	return err
}

// post is roundTrip without its span.
func (f *Engine) post(ctx context.Context, l *peerLink, req *mcp.Request) (*mcp.Message, error) {
	if l.endpointErr != nil {
		return nil, fmt.Errorf("%w: %v", mcp.ErrUnreachable, l.endpointErr)
	}
	h, body, err := f.hopRequest(ctx, l, req)
	if err != nil { // a token withheld: the link follows the member's new URL
		return nil, unreachable(ctx, err)
	}
	var m *mcp.Message
	read := func(resp *http.Response) error {
		m, err = f.readHop(ctx, req, resp)
		return err
	}
	if l.inline {
		err = f.inline.post(ctx, l.endpoint, inlineHead(l.endpoint, h, len(body)), body, read)
	} else {
		err = f.postHTTP(ctx, l.endpoint, h, body, read)
	}
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, mcp.ErrResultTooLarge):
		return nil, err
	}
	return nil, unreachable(ctx, err)
}

// postHTTP POSTs body with the headers h to u with net/http (peers
// reached through a proxy) and hands the answer to read.
func (f *Engine) postHTTP(ctx context.Context, u *url.URL, h http.Header, body []byte, read func(*http.Response) error) error {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header = h
	resp, err := f.hopClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return read(resp)
}

// readHop reads the peer's answer (at most --max-result-bytes of it),
// relaying the notifications before it to the caller: the answer (a
// result or a JSON-RPC error), or why there is none.
func (f *Engine) readHop(ctx context.Context, req *mcp.Request, resp *http.Response) (*mcp.Message, error) {
	resp.Body = &boundedBody{r: resp.Body, left: f.cfg.MaxResultBytes}
	m, err := mcp.ReadStatelessAnswer(resp, func(n *mcp.Message) { relay(ctx, req.Client, n) })
	switch {
	case errors.Is(err, mcp.ErrResultTooLarge):
		return nil, err
	case err != nil && resp.StatusCode == http.StatusOK:
		return nil, err
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, errDraining
	case err != nil || m.Error == nil && resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return m, nil
}

// hopRequest is the headers and body of the POST of req to the peer:
// 2026-07-28 _meta and headers, the node token naming the caller, the
// forwarded mark.
func (f *Engine) hopRequest(ctx context.Context, l *peerLink, req *mcp.Request) (http.Header, []byte, error) {
	level, caps := "", json.RawMessage(nil)
	if req.Client != nil {
		level, caps = req.Client.LogLevel(), req.Client.Capabilities()
	}
	m, err := mcp.NewStatelessRequest(json.RawMessage("1"), req, level, caps)
	if err != nil {
		return nil, nil, err
	}
	tok, err := f.tokens.forNodeAs(l.record().Member, l.endpoint, callerFrom(ctx))
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Authorization", "Bearer "+tok)
	h.Set(HeaderForwarded, f.self)
	mcp.SetStatelessHeaders(h, m, l.inputSchema(req))
	if t := f.cfg.Tracing; t != nil { // the hop's span, in both carriers
		t.InjectHeader(ctx, h)
		m.Params = t.InjectMeta(ctx, m.Params)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	return h, body, nil
}

// errDraining is a peer's 503: it is draining (or over its bounds) and took
// nothing of the request.
var errDraining = errors.New("status 503: the peer takes no new requests")

// legacyError is a 2026-07-28 error as the session versions say it: a
// missing resource is -32002 there (the peer said -32602 with data.uri);
// a 2026-07-28 caller's server turns it back.
func legacyError(method string, e *mcp.Error) *mcp.Error {
	data, _ := e.Data.(map[string]any)
	if method != "resources/read" || e.Code != mcp.CodeInvalidParams || data["uri"] == nil {
		return e
	}
	return &mcp.Error{Code: mcp.CodeResourceNotFound, Message: e.Message, Data: e.Data}
}

// relay passes a notification of the forwarded request to its caller:
// progress (the caller's own token came back unchanged) and log messages.
func relay(ctx context.Context, to mcp.Client, n *mcp.Message) {
	if to == nil || (n.Method != "notifications/progress" && n.Method != "notifications/message") {
		return
	}
	_ = to.Notify(ctx, n.Method, n.Params)
}

// boundedBody reads at most left bytes of a peer's answer; reading past
// that is mcp.ErrResultTooLarge (and nothing more is read).
type boundedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		var one [1]byte // an answer of exactly the bound is fine
		if m, _ := b.r.Read(one[:]); m > 0 {
			return n, errTooLarge()
		}
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.r.Close() }

// errTooLarge is an answer over --max-result-bytes, of which no more was read.
func errTooLarge() error {
	return fmt.Errorf("%w: answer larger than the bound", mcp.ErrResultTooLarge)
}

// unreachable wraps a transport error as mcp.ErrUnreachable, unless ctx
// ended (the caller gave up or the peer timeout passed).
func unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: %w", mcp.ErrUnreachable, tlsHint(err))
}
