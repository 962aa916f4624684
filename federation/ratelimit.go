package federation

import (
	"container/list"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/policy"
)

// Rate limits: a token bucket (golang.org/x/time/rate) per principal per
// canonical name, kept on the node the caller reached (the entry node).
// The rate of a pair comes from a RateFunc the access rules provide.

// ErrRateLimited is _meta["mcpmesh/error"] of a call refused over its rate;
// MetaRetryAfter (milliseconds) says when the next call would be allowed.
const (
	ErrRateLimited = "rate_limited"
	MetaRetryAfter = "mcpmesh/retry_after_ms"
)

// DefaultMaxLimiters bounds the limiters a node keeps (355 bytes each
// measured, with 20-character names): at the bound the least recently used
// one is dropped.
const DefaultMaxLimiters = 50_000

// Rate is how many calls one principal may make of one entry per period:
// an allow rule's rate (policy.Rate, "<n>/s|m|h").
type Rate = policy.Rate

// RateFunc gives the rate that holds for principal p calling the entry
// called canonical (the strictest matching allow rule's); false: none.
type RateFunc func(p mcp.Principal, canonical string) (Rate, bool)

// Limiter holds one token bucket per principal and canonical name: N calls
// at once, then N per Per. A bucket idle long enough to be full again is
// dropped (nothing is lost: a new one is the same), and at most max are
// kept, the least recently used dropped first.
type Limiter struct {
	mu    sync.Mutex
	max   int
	byKey map[limitKey]*list.Element
	lru   *list.List // of *limitEntry, most recently used first
}

type limitKey struct{ issuer, subject, name string }

type limitEntry struct {
	key  limitKey
	rate Rate
	lim  *rate.Limiter
	last time.Time
}

// NewLimiter returns a Limiter that keeps at most max buckets
// (DefaultMaxLimiters when max <= 0).
func NewLimiter(max int) *Limiter {
	if max <= 0 {
		max = DefaultMaxLimiters
	}
	return &Limiter{max: max, byKey: map[limitKey]*list.Element{}, lru: list.New()}
}

// Take spends one call of p on canonical at rate r, at now. Over the rate
// it spends nothing and returns false and the wait until a call would be
// allowed. A rate of no calls (N or Per not positive) refuses every call.
func (l *Limiter) Take(p mcp.Principal, canonical string, r Rate, now time.Time) (time.Duration, bool) {
	if r.N <= 0 || r.Per <= 0 {
		return max(r.Per, time.Second), false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(limitKey{p.Issuer, p.Subject, canonical}, r, now)
	res := e.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// entry finds or makes the bucket of k at rate r, as the most recently
// used, and drops the ones that are full again or over the bound.
func (l *Limiter) entry(k limitKey, r Rate, now time.Time) *limitEntry {
	var e *limitEntry
	if el, ok := l.byKey[k]; ok {
		l.lru.MoveToFront(el)
		e = el.Value.(*limitEntry)
		if e.rate != r { // the rules changed
			e.lim.SetLimitAt(now, limitOf(r))
			e.lim.SetBurstAt(now, r.N)
			e.rate = r
		}
	} else {
		e = &limitEntry{key: k, rate: r, lim: rate.NewLimiter(limitOf(r), r.N)}
		l.byKey[k] = l.lru.PushFront(e)
	}
	e.last = now
	l.evict(now)
	return e
}

// evict drops from the least recently used end the buckets full again
// (idle for their period), then any over the bound.
func (l *Limiter) evict(now time.Time) {
	for back := l.lru.Back(); back != nil; back = l.lru.Back() {
		e := back.Value.(*limitEntry)
		if l.lru.Len() <= l.max && now.Sub(e.last) < e.rate.Per {
			return
		}
		l.lru.Remove(back)
		delete(l.byKey, e.key)
	}
}

// Len is the number of buckets kept.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

func limitOf(r Rate) rate.Limit {
	return rate.Limit(float64(r.N) / r.Per.Seconds())
}

// RateLimited is the answer to a call over its rate: for tools/call an
// isError result, for prompts/get and resources/read a JSON-RPC error
// (-32603, as other failures of the mesh); both name the entry and the
// rate and carry ErrRateLimited and MetaRetryAfter in _meta (error data).
func RateLimited(method, canonical string, r Rate, retry time.Duration) (json.RawMessage, error) {
	ms := max(retry.Milliseconds(), 1)
	if retry > time.Duration(ms)*time.Millisecond {
		ms++
	}
	msg := fmt.Sprintf("rate limit of %s for %q reached: try again in %d ms", r, canonical, ms)
	meta := map[string]any{MetaError: ErrRateLimited, MetaRetryAfter: ms}
	if method != "tools/call" {
		return nil, &mcp.Error{Code: mcp.CodeInternalError, Message: msg, Data: meta}
	}
	return json.Marshal(map[string]any{
		"content": []map[string]string{{"type": "text", "text": msg}},
		"isError": true, "_meta": meta,
	})
}
