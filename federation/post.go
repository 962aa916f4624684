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
)

// send forwards req over the peer's link: a caller with a session through
// the link's MCP session (progress, logs, cancellation and server requests
// pass through), a sessionless caller by one plain POST, which costs far
// less (BenchmarkForward). A POST that cannot reach the peer fails with
// mcp.ErrUnreachable like a session call, so forward reconnects the link.
func (f *Engine) send(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, error) {
	if needsWayBack(req) {
		l.awaitUp(ctx)
		return l.up.Call(ctx, req)
	}
	return f.postCall(ctx, l, req)
}

// needsWayBack reports whether a forwarded request may need the link's
// session: its caller has a session and either asked for progress, set a
// log level, or can answer sampling or elicitation requests. Anything else
// goes as one plain POST, which costs far less; cancellation still reaches
// the peer (the POST is aborted). Roots are not counted: SDK clients
// declare them by default, and a peer's tool asking a caller for its roots
// is rare enough to trade for the cheaper path.
func needsWayBack(req *mcp.Request) bool {
	if req.Client == nil || req.Client.SessionID() == "" {
		return false
	}
	if req.Client.LogLevel() != "" || hasProgressToken(req.Params) {
		return true
	}
	var caps map[string]json.RawMessage
	_ = json.Unmarshal(req.Client.Capabilities(), &caps)
	return caps["sampling"] != nil || caps["elicitation"] != nil
}

func hasProgressToken(params json.RawMessage) bool {
	var p struct {
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	return json.Unmarshal(params, &p) == nil && p.Meta.ProgressToken != nil
}

// postCall forwards a sessionless caller's request as one plain JSON-RPC
// POST to the peer (no session, application/json answer): such a caller has
// no way back for progress, logs or server requests, so the link's session
// would add nothing but cost. Cancelling ctx aborts the POST, which cancels
// the request on the peer.
func (f *Engine) postCall(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, error) {
	body, err := json.Marshal(mcp.Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: req.Method, Params: req.Params})
	if err != nil {
		return nil, err
	}
	if l.endpointErr != nil {
		return nil, fmt.Errorf("%w: %v", mcp.ErrUnreachable, l.endpointErr)
	}
	var status int
	var raw []byte
	member, limit := l.record().Member, f.cfg.MaxResultBytes
	if l.inline {
		status, raw, err = f.inline.post(ctx, l.endpoint, member, body, limit)
	} else {
		status, raw, err = f.postHTTP(ToNode(ctx, member), l.endpoint, body, limit)
	}
	if errors.Is(err, mcp.ErrResultTooLarge) {
		return nil, err
	}
	if err != nil {
		return nil, unreachable(ctx, err)
	}
	return postAnswer(status, raw)
}

// postHTTP POSTs body to u with net/http (https peers, proxies) and reads
// at most limit bytes of the answer (more is mcp.ErrResultTooLarge).
func (f *Engine) postHTTP(ctx context.Context, u *url.URL, body []byte, limit int64) (int, []byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(hreq)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(raw)) > limit {
		return 0, nil, errTooLarge(limit)
	}
	return resp.StatusCode, raw, err
}

// postAnswer turns a peer's answer to a plain POST into a result or error.
func postAnswer(status int, raw []byte) (json.RawMessage, error) {
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d: %.200s", mcp.ErrUnreachable, status, raw)
	}
	var m mcp.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: answer is not JSON-RPC: %v", mcp.ErrUnreachable, err)
	}
	if m.Error != nil {
		return nil, m.Error
	}
	return m.Result, nil
}

// errTooLarge is an answer over limit bytes, of which no more was read.
func errTooLarge(limit int64) error {
	return fmt.Errorf("%w: answer larger than %d bytes", mcp.ErrResultTooLarge, limit)
}

// unreachable wraps a transport error as mcp.ErrUnreachable, unless ctx
// ended (the caller gave up or the peer timeout passed).
func unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: %w", mcp.ErrUnreachable, err)
}
