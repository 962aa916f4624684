package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// upKinds is a set of listable kinds to (re)list.
type upKinds uint8

const (
	upTools     upKinds = 1 << iota
	upPrompts           // prompts
	upResources         // resources and resource templates
	upAll       = upTools | upPrompts | upResources
)

const (
	// upTerminate is how long a stdio server gets to exit after its stdin
	// is closed, and then after SIGTERM, before it is killed.
	upTerminate = 2 * time.Second
	// upMaxItems caps one kind's listing, against a server paging forever:
	// entries past it are left out (a listing is never refused whole).
	upMaxItems = 50000
)

// newClient builds the go-sdk client whose handlers relay to the callers.
// It declares sampling and (form) elicitation, which it relays to the
// calling client, and no roots: a roots/list from the server is still
// relayed if a call is in flight (see relayPeer).
func (u *Upstream) newClient() *sdk.Client {
	c := sdk.NewClient(&sdk.Implementation{Name: "mcpmesh", Version: "1"}, &sdk.ClientOptions{
		Logger:                        u.log,
		Capabilities:                  &sdk.ClientCapabilities{Sampling: &sdk.SamplingCapabilities{}},
		CreateMessageWithToolsHandler: u.relaySampling,
		ElicitationHandler:            u.relayElicitation,
		ToolListChangedHandler:        func(context.Context, *sdk.ToolListChangedRequest) { u.requestRelist(upTools) },
		PromptListChangedHandler:      func(context.Context, *sdk.PromptListChangedRequest) { u.requestRelist(upPrompts) },
		ResourceListChangedHandler:    func(context.Context, *sdk.ResourceListChangedRequest) { u.requestRelist(upResources) },
		ResourceUpdatedHandler:        u.relayResourceUpdated,
		LoggingMessageHandler:         u.relayLog,
		ProgressNotificationHandler:   u.relayProgress,
		KeepAlive:                     max(u.opts.PingInterval, 0),
		KeepAliveFailureThreshold:     3, // a busy server may miss one
		// an upstream's input_required reaches a 2026-07-28 caller as it
		// is, and is answered for others by Upstream.fulfil
		MultiRoundTrip: &sdk.MultiRoundTripOptions{Disabled: true},
	})
	c.AddReceivingMiddleware(u.rootsMiddleware, u.elicitMiddleware)
	return c
}

// transport builds a fresh transport for one connection attempt.
func (u *Upstream) transport() (sdk.Transport, *upProc) {
	if u.cfg.Command == "" {
		// the bodies are bounded (upBoundedSSE): the SDK's own event cap must not cut first
		maxEvent := int(max(u.opts.MaxCatalogBytes, u.opts.MaxResultBytes)) + 1<<20
		return &sdk.StreamableClientTransport{Endpoint: u.cfg.URL, HTTPClient: u.http, MaxEventSize: maxEvent}, nil
	}
	cmd := exec.Command(u.cfg.Command, u.cfg.Args...)
	cmd.Env = upEnviron(u.cfg.Env)
	p := &upProc{cmd: cmd, stderr: &upStderr{log: u.log}, tap: &upTap{seen: u.order.saw}}
	cmd.Stderr = p.stderr
	cmd.WaitDelay = time.Second
	return p, p
}

// upEnviron is the gateway's environment plus env (which wins).
func upEnviron(env map[string]string) []string {
	out := os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// connect makes one attempt: connect, handshake, first listing.
func (u *Upstream) connect() (*sdk.ClientSession, error) {
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.ConnectTimeout)
	defer cancel()
	t, proc := u.transport()
	sess, err := u.client.Connect(ctx, t, &sdk.ClientSessionOptions{ProtocolVersion: u.opts.ProtocolVersion})
	if err != nil {
		return nil, fmt.Errorf("connect: %w%s", err, proc.ended())
	}
	u.mu.Lock()
	u.sess, u.proc = sess, proc
	u.mu.Unlock()
	if err := u.prime(ctx, sess); err != nil {
		_ = sess.Close()
		u.detach(sess, nil)
		return nil, fmt.Errorf("first listing: %w%s", err, proc.ended())
	}
	return sess, nil
}

// prime readies a new session: log level, listings, subscriptions.
func (u *Upstream) prime(ctx context.Context, sess *sdk.ClientSession) error {
	if upCaps(sess).Logging != nil {
		if err := sess.SetLoggingLevel(ctx, &sdk.SetLoggingLevelParams{Level: "debug"}); err != nil {
			u.log.Debug("upstream refused logging/setLevel", "err", err)
		}
	}
	defs, err := u.list(ctx, sess, upAll, true)
	if err != nil && !u.opts.StaleOnListError {
		return err
	}
	u.resubscribe(ctx, sess)
	version := sess.InitializeResult().ProtocolVersion
	u.mu.Lock()
	u.everUp = true
	u.status.ProtocolVersion = version
	u.setStateLocked(UpstreamReady, "")
	u.signalLocked(nil)
	changed := err == nil && u.applyLocked(upAll, defs)
	flipped := u.setListErrorLocked(err)
	u.mu.Unlock()
	u.log.Info("upstream ready", "tools", len(defs.Tools), "protocol", version)
	u.changed(changed)
	u.listFlipped(flipped)
	return nil
}

// serve waits for the session to end, and ends it on Close or when the
// stdio child exits (a grandchild may keep its stdout open); then it
// records the upstream down.
func (u *Upstream) serve(sess *sdk.ClientSession) {
	u.mu.Lock()
	proc := u.proc
	u.mu.Unlock()
	ended := make(chan struct{})
	started := u.goFn(func() {
		var exited <-chan struct{}
		if proc != nil {
			exited = proc.exited
		}
		select {
		case <-u.ctx.Done():
		case <-exited:
		case <-ended:
			return
		}
		_ = sess.Close()
	})
	if !started { // closed meanwhile
		_ = sess.Close()
	}
	waitErr := sess.Wait()
	close(ended)
	_ = sess.Close()
	if waitErr == nil {
		waitErr = errors.New("connection closed")
	}
	u.detach(sess, fmt.Errorf("session ended: %w%s", waitErr, proc.ended()))
}

// detach forgets sess and, given why it ended, records the upstream down in
// the same step: /api/servers never shows it ready without its process.
func (u *Upstream) detach(sess *sdk.ClientSession, ended error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.sess != sess {
		return
	}
	u.sess, u.proc = nil, nil
	if ended != nil && u.ctx.Err() == nil {
		u.downLocked(ended)
	}
}

func (u *Upstream) session() *sdk.ClientSession {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sess
}

func upCaps(sess *sdk.ClientSession) *sdk.ServerCapabilities {
	if r := sess.InitializeResult(); r != nil && r.Capabilities != nil {
		return r.Capabilities
	}
	return &sdk.ServerCapabilities{}
}

// requestRelist asks the relister to list kinds again (list_changed).
// Refresh asks for a fresh listing of everything (for example when the
// server is known to have changed); it returns at once.
func (u *Upstream) Refresh() { u.requestRelist(upAll) }

func (u *Upstream) requestRelist(k upKinds) {
	u.mu.Lock()
	u.pending |= k
	u.mu.Unlock()
	select {
	case u.relist <- struct{}{}:
	default:
	}
}

// listRetryMax bounds the wait between two tries of a failed listing.
const listRetryMax = 30 * time.Second

// relister re-lists on list_changed, off the SDK's notification goroutine,
// and tries a failed listing again after a backoff (ListRetry doubling up
// to listRetryMax) until one succeeds.
func (u *Upstream) relister() {
	wait := u.opts.ListRetry
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-u.relist:
		case <-u.listRetryAfter(wait):
			u.mu.Lock()
			u.pending |= upAll
			u.mu.Unlock()
			wait = min(2*wait, max(listRetryMax, u.opts.ListRetry))
		}
		u.mu.Lock()
		kinds, sess := u.pending, u.sess
		u.pending = 0
		u.mu.Unlock()
		if sess != nil && kinds != 0 {
			u.relistNow(sess, kinds)
		}
		if u.Status().ListError == "" {
			wait = u.opts.ListRetry
		}
	}
}

// listRetryAfter fires after wait while the last listing failed; it never
// fires while listings succeed.
func (u *Upstream) listRetryAfter(wait time.Duration) <-chan time.Time {
	if u.Status().ListError == "" {
		return nil
	}
	return time.After(wait)
}

func (u *Upstream) relistNow(sess *sdk.ClientSession, kinds upKinds) {
	ctx, cancel := context.WithTimeout(u.ctx, u.relistTimeout())
	defer cancel()
	defs, err := u.list(ctx, sess, kinds, false)
	u.mu.Lock()
	changed := err == nil && u.sess == sess && u.applyLocked(kinds, defs)
	flipped := u.sess == sess && u.setListErrorLocked(err)
	u.mu.Unlock()
	u.changed(changed)
	u.listFlipped(flipped)
}

// applyLocked stores the listed kinds and reports whether anything changed.
func (u *Upstream) applyLocked(kinds upKinds, d Definitions) bool {
	old := u.defs
	if kinds&upTools != 0 {
		u.defs.Tools = d.Tools
	}
	if kinds&upPrompts != 0 {
		u.defs.Prompts = d.Prompts
	}
	if kinds&upResources != 0 {
		u.defs.Resources, u.defs.ResourceTemplates = d.Resources, d.ResourceTemplates
	}
	return !upSameDefs(old, u.defs)
}

func (u *Upstream) changed(changed bool) {
	if changed && u.opts.OnChange != nil {
		u.opts.OnChange()
	}
}

func upSameDefs(a, b Definitions) bool {
	same := func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }
	eq := func(x, y []json.RawMessage) bool { return slices.EqualFunc(x, y, same) }
	return eq(a.Tools, b.Tools) && eq(a.Prompts, b.Prompts) &&
		eq(a.Resources, b.Resources) && eq(a.ResourceTemplates, b.ResourceTemplates)
}

// upListDefs lists every page of kinds; with declaredOnly, only of those the
// server declared (a server that reports a list change of a kind it did
// not declare at first is listed anyway).
func upListDefs(ctx context.Context, sess *sdk.ClientSession, kinds upKinds, declaredOnly bool, b *upBudget) (Definitions, error) {
	caps := upCaps(sess)
	if declaredOnly {
		kinds &= upDeclared(caps)
	}
	var d Definitions
	var errs [4]error
	if kinds&upTools != 0 {
		d.Tools, errs[0] = upCollect("tools", sess.Tools(ctx, nil), b)
	}
	if kinds&upPrompts != 0 {
		d.Prompts, errs[1] = upCollect("prompts", sess.Prompts(ctx, nil), b)
	}
	if kinds&upResources != 0 {
		d.Resources, errs[2] = upCollect("resources", sess.Resources(ctx, nil), b)
		d.ResourceTemplates, errs[3] = upCollect("resource templates", sess.ResourceTemplates(ctx, nil), b)
	}
	return d, errors.Join(errs[:]...)
}

func upDeclared(caps *sdk.ServerCapabilities) upKinds {
	var k upKinds
	if caps.Tools != nil {
		k |= upTools
	}
	if caps.Prompts != nil {
		k |= upPrompts
	}
	if caps.Resources != nil {
		k |= upResources
	}
	return k
}

// upStderr logs a stdio server's stderr line by line (at debug level) and
// keeps the last line for error messages.
type upStderr struct {
	log      *slog.Logger
	mu       sync.Mutex
	buf      []byte
	lastLine string
}

const upStderrMax = 4096

func (w *upStderr) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > upStderrMax {
		w.line(w.buf)
		w.buf = nil
	}
	return len(p), nil
}

func (w *upStderr) line(b []byte) {
	s := upTrimLine(b)
	if s == "" {
		return
	}
	w.lastLine = s
	w.log.Debug("upstream stderr", "line", s)
}

func (w *upStderr) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := upTrimLine(w.buf); s != "" {
		return s
	}
	return w.lastLine
}

func upTrimLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}
