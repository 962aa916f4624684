package gateway

import (
	"net/http"
	"sync"
	"time"
)

// nodeTokenTTL is the life of the tokens nodes mint for each other.
const nodeTokenTTL = time.Hour

// nodeTokens mints this node's token for calls to peers (from the shared
// secret) and renews it well before it expires. Its scope is the least the
// calls need: mcp for links, forwarded calls and /api/federation/info, so a
// token that reaches a wrong URL (a mistyped peer URL, a URL a member
// gossips) grants no management; admin only for the keyring fan-out.
type nodeTokens struct {
	secret  []byte
	subject string
	scope   string // ScopeMCP or ScopeAdmin

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func (t *nodeTokens) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.renewAt) {
		return t.token, nil
	}
	tok, err := MintToken(t.secret, t.subject, t.scope, nodeTokenTTL)
	if err != nil {
		return "", err
	}
	t.token, t.renewAt = tok, time.Now().Add(nodeTokenTTL/2)
	return tok, nil
}

// tokenTransport adds the node token and the forwarded mark to every
// request a node makes to a peer.
type tokenTransport struct {
	tokens *nodeTokens
	from   string
	base   http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.tokens.get()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set(HeaderForwarded, t.from)
	return t.base.RoundTrip(r)
}

// CloseIdleConnections closes the base transport's idle connections, so
// (*http.Client).CloseIdleConnections reaches them through this wrapper.
func (t *tokenTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
