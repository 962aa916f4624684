package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	sdkrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Byte bounds of what an upstream (or a peer, through its link) may send;
// docs/limits.md "Bytes" says what is cut and how it is reported.
const (
	// DefaultMaxCatalogBytes bounds one upstream's listing (tools, prompts,
	// resources and templates, as encoded JSON) and each page of it
	// (--max-catalog-bytes).
	DefaultMaxCatalogBytes = 8 << 20
	// DefaultMaxResultBytes bounds one answer to a call (--max-result-bytes).
	DefaultMaxResultBytes = 16 << 20
)

// ErrKindResultTooLarge is the _meta["mcpmesh/error"] of an answer over
// the result bound.
const ErrKindResultTooLarge = "result_too_large"

// ErrResultTooLarge is wrapped by Call's error when UnreachableErrors is set
// and the server's answer was larger than MaxResultBytes.
var ErrResultTooLarge = errors.New("result too large")

// Reasons of a Truncation.
const (
	CutBytes = "bytes" // the listing's byte bound
	CutCount = "count" // the count cap of one kind (upMaxItems)
)

// Truncation is what one listing of an upstream left out for one reason.
type Truncation struct {
	Reason  string // CutBytes or CutCount
	Entries int    // entries left out
	Bytes   int64  // their size as encoded JSON
}

// upTooLargeCode marks the JSON-RPC error the transport puts in place of a
// message over its bound (see upBoundedBody).
const upTooLargeCode = -32097

// upLimitKey carries the byte bound of the answers to one request into
// the HTTP transport (the SDK passes the call's context to its POST).
type upLimitKey struct{}

func withUpLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, upLimitKey{}, n)
}

// upLimit is the bound ctx carries, else def.
func upLimit(ctx context.Context, def int64) int64 {
	if n, ok := ctx.Value(upLimitKey{}).(int64); ok {
		return n
	}
	return def
}

// upIsTooLarge reports whether err is the transport's stand-in for an
// answer over the bound.
func upIsTooLarge(code int64, data json.RawMessage) bool {
	return code == upTooLargeCode && StringField(data, "mcpmesh/error") == ErrKindResultTooLarge
}

// tooLarge is the caller's answer when the server's answer was over the
// result bound: the transport read no more than the bound.
func (u *Upstream) tooLarge(method string) (json.RawMessage, error) {
	if u.opts.OnTooLarge != nil {
		u.opts.OnTooLarge()
	}
	msg := fmt.Sprintf("upstream %q answered with more than %d bytes (the bound set by --max-result-bytes)",
		u.cfg.Name, u.opts.MaxResultBytes)
	if u.opts.UnreachableErrors {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", ErrResultTooLarge, u.opts.MaxResultBytes)
	}
	meta := map[string]any{"mcpmesh/error": ErrKindResultTooLarge, "mcpmesh/server": u.cfg.Name}
	if method == "tools/call" {
		b, err := json.Marshal(map[string]any{
			"content": []map[string]string{{"type": "text", "text": msg}}, "isError": true, "_meta": meta,
		})
		return b, err
	}
	return nil, &Error{Code: CodeInternalError, Message: msg, Data: meta}
}

// upBudget is what one listing may still keep, and what it left out.
type upBudget struct {
	left int64 // bytes
	cut  map[string]*Truncation
}

func newUpBudget(n int64) *upBudget { return &upBudget{left: n, cut: map[string]*Truncation{}} }

// drop records an entry left out for reason.
func (b *upBudget) drop(reason string, size int) {
	t := b.cut[reason]
	if t == nil {
		t = &Truncation{Reason: reason}
		b.cut[reason] = t
	}
	t.Entries++
	t.Bytes += int64(size)
}

// truncations are the cuts in a fixed order (bytes, then count).
func (b *upBudget) truncations() []Truncation {
	var out []Truncation
	for _, r := range []string{CutBytes, CutCount} {
		if t := b.cut[r]; t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// upCollect keeps the listed entries in the server's order while they fit
// the budget; the rest is counted as cut. Entries past upMaxItems are not
// read at all: a server paging forever cannot hold the listing.
func upCollect[T any](what string, seq iter.Seq2[*T, error], b *upBudget) ([]json.RawMessage, error) {
	var out []json.RawMessage
	seen := 0
	for item, err := range seq {
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if seen++; seen > upMaxItems {
			b.drop(CutCount, 0)
			break
		}
		js, err := json.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("list %s: encode: %w", what, err)
		}
		if int64(len(js)) > b.left {
			b.left = 0 // deterministic: nothing after the first entry that does not fit
			b.drop(CutBytes, len(js))
			continue
		}
		b.left -= int64(len(js))
		out = append(out, js)
	}
	return out, nil
}

// upDefsBytes is the encoded size of the kinds of d.
func upDefsBytes(d Definitions, kinds upKinds) int64 {
	var n int64
	add := func(list []json.RawMessage) {
		for _, js := range list {
			n += int64(len(js))
		}
	}
	if kinds&upTools != 0 {
		add(d.Tools)
	}
	if kinds&upPrompts != 0 {
		add(d.Prompts)
	}
	if kinds&upResources != 0 {
		add(d.Resources)
		add(d.ResourceTemplates)
	}
	return n
}

// reportCuts logs (once per listing) and counts what a listing left out.
func (u *Upstream) reportCuts(b *upBudget) {
	for _, t := range b.truncations() {
		u.log.Warn("upstream listing cut", "reason", t.Reason, "entries_cut", t.Entries, "bytes_cut", t.Bytes,
			"max_catalog_bytes", u.opts.MaxCatalogBytes, "max_entries_per_kind", upMaxItems)
		if u.opts.OnTruncate != nil {
			u.opts.OnTruncate(t)
		}
	}
}

// list lists kinds within the catalog bound: each page is read up to the
// bound, and the entries kept fit it together with the kinds not re-listed.
func (u *Upstream) list(ctx context.Context, sess *sdk.ClientSession, kinds upKinds, declaredOnly bool) (Definitions, error) {
	u.mu.Lock()
	kept := upDefsBytes(u.defs, upAll&^kinds)
	u.mu.Unlock()
	b := newUpBudget(max(u.opts.MaxCatalogBytes-kept, 0))
	defs, err := upListDefs(withUpLimit(ctx, u.opts.MaxCatalogBytes), sess, kinds, declaredOnly, b)
	var wire *sdkrpc.Error
	if errors.As(err, &wire) && upIsTooLarge(wire.Code, wire.Data) {
		return defs, fmt.Errorf("a listing page is larger than %d bytes (the bound set by --max-catalog-bytes)", u.opts.MaxCatalogBytes)
	}
	if err == nil {
		u.reportCuts(b)
	}
	return defs, err
}

// setListErrorLocked records the outcome of a listing: a failed one keeps
// the previous definitions, and Status says why (a peer is then stale). It
// reports whether the listing went from failing to not, or back.
func (u *Upstream) setListErrorLocked(err error) bool {
	text := ""
	if err != nil {
		text = err.Error()
	}
	switch {
	case text != "" && text != u.status.ListError:
		u.log.Warn("upstream listing failed; keeping the previous definitions", "err", err)
	case text == "" && u.status.ListError != "":
		u.log.Info("upstream listed again after a failed listing")
	}
	flipped := (text == "") != (u.status.ListError == "")
	u.status.ListError = text
	return flipped
}

// listFlipped runs OnListError after the listing began or ceased to fail,
// and wakes the relister so that it starts (or stops) retrying.
func (u *Upstream) listFlipped(flipped bool) {
	if !flipped {
		return
	}
	select {
	case u.relist <- struct{}{}:
	default:
	}
	if u.opts.OnListError != nil {
		u.opts.OnListError()
	}
}
