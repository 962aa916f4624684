package federation

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// The hop speaks 2026-07-28, and a node of a release from before it (a
// rolling upgrade puts one beside this one) serves such a POST as a legacy
// plain POST: the call works, but its progress and log messages are lost.
// So the hop first asks each peer, as the specification's clients do, with
// server/discover: a peer that does not name 2026-07-28 among its versions
// (a pre-2026 node answers -32601) gets this node's requests over the
// link's MCP session, which negotiates a session version at initialize and
// streams notifications. The answer holds for one state of the link: a
// peer restarted on another release ends the link's session, and the link
// coming back asks again.

// hopSpeech is what a peer answered to server/discover, for the link state
// since epoch (mcp.UpstreamStatus.Since).
type hopSpeech struct {
	epoch     time.Time
	stateless bool // it serves 2026-07-28 requests: the hop may POST them
}

// speaksHop reports whether the peer serves the hop's 2026-07-28 POSTs,
// asking it once per state of the link. A peer that cannot be asked is
// sent the hop, which says why it failed.
func (f *Engine) speaksHop(ctx context.Context, l *peerLink) bool {
	epoch := l.up.Status().Since
	if s := l.speech.Load(); s != nil && s.epoch.Equal(epoch) {
		return s.stateless
	}
	select { // one server/discover at a time; a caller gives up waiting with its ctx
	case l.discoverProbe <- struct{}{}:
		defer func() { <-l.discoverProbe }()
	case <-ctx.Done():
		return true // the hop fails at once, as the caller's ctx says
	}
	if s := l.speech.Load(); s != nil && s.epoch.Equal(epoch) {
		return s.stateless
	}
	stateless, err := f.discover(ctx, l)
	if err != nil {
		return true
	}
	if !stateless {
		f.log.Info("peer does not serve 2026-07-28: forwarding over its MCP session", "peer", l.record().Name)
	}
	l.speech.Store(&hopSpeech{epoch: epoch, stateless: stateless})
	return stateless
}

// discover POSTs server/discover to the peer as the hop would: whether it
// names 2026-07-28 among its versions (a JSON-RPC error, such as -32601 or
// -32022, says no), or why there was no answer.
func (f *Engine) discover(ctx context.Context, l *peerLink) (bool, error) {
	m, err := f.roundTrip(ctx, l, &mcp.Request{Method: "server/discover", Params: json.RawMessage(`{}`)})
	if err != nil {
		return false, err
	}
	if m.Error != nil {
		return false, nil
	}
	var res struct {
		SupportedVersions []string `json:"supportedVersions"`
	}
	_ = json.Unmarshal(m.Result, &res)
	return slices.Contains(res.SupportedVersions, mcp.StatelessVersion), nil
}
