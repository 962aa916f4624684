package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

var (
	alice = mcp.Principal{Subject: "alice"}
	bob   = mcp.Principal{Subject: "bob"}
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TestLimiterTake: N calls at once, then one per Per/N; the refused
// call spends nothing and says how long to wait; each principal and each
// name has its own bucket; a changed rate holds at once.
func TestLimiterTake(t *testing.T) {
	perMin := Rate{N: 3, Per: time.Minute}
	steps := []struct {
		name  string
		p     mcp.Principal
		tool  string
		r     Rate
		at    time.Duration
		ok    bool
		retry time.Duration // when refused
	}{
		{"first", alice, "b__echo", perMin, 0, true, 0},
		{"second", alice, "b__echo", perMin, 0, true, 0},
		{"third", alice, "b__echo", perMin, 0, true, 0},
		{"fourth refused", alice, "b__echo", perMin, 0, false, 20 * time.Second},
		{"refused again, spent nothing", alice, "b__echo", perMin, 10 * time.Second, false, 10 * time.Second},
		{"another principal", bob, "b__echo", perMin, 10 * time.Second, true, 0},
		{"another tool", alice, "echo", perMin, 10 * time.Second, true, 0},
		{"one refilled", alice, "b__echo", perMin, 20 * time.Second, true, 0},
		{"and spent", alice, "b__echo", perMin, 20 * time.Second, false, 20 * time.Second},
		{"a faster rate holds at once", alice, "b__echo", Rate{N: 3, Per: time.Second}, 21 * time.Second, false, 334 * time.Millisecond},
		{"and refills at its pace", alice, "b__echo", Rate{N: 3, Per: time.Second}, 22 * time.Second, true, 0},
		{"no calls allowed", alice, "x", Rate{N: 0, Per: time.Minute}, 21 * time.Second, false, time.Minute},
	}
	l := NewLimiter(0)
	for _, s := range steps {
		retry, ok := l.Take(s.p, s.tool, s.r, t0.Add(s.at))
		if ok != s.ok || (!ok && (retry <= 0 || retry > s.retry)) {
			t.Fatalf("%s: Take = %v, %v; want %v, %v", s.name, retry, ok, s.retry, s.ok)
		}
	}
}

// TestLimiterBounded: buckets idle for their period are dropped (a new
// one is the same: full), and no more than the bound are kept, the least
// recently used dropped first.
func TestLimiterBounded(t *testing.T) {
	r := Rate{N: 1, Per: time.Minute}
	l := NewLimiter(100)
	for i := range 1000 {
		l.Take(alice, fmt.Sprintf("t%d", i), r, t0)
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d limiters kept after 1000 pairs; want the bound, 100", n)
	}
	if _, ok := l.Take(alice, "t999", r, t0); ok {
		t.Error("t999 (recently used, kept) allowed a second call within its minute")
	}
	if _, ok := l.Take(alice, "t0", r, t0); !ok {
		t.Error("t0 (dropped at the bound) refused: want a fresh bucket")
	}
	l.Take(bob, "late", r, t0.Add(time.Minute))
	if n := l.Len(); n != 1 {
		t.Errorf("%d limiters kept after every other was idle for its period; want 1", n)
	}
}

// TestRateLimitedAnswer: a tools/call over its rate is an isError result,
// prompts/get and resources/read a JSON-RPC error; both name the entry and
// the rate and carry rate_limited and the wait in milliseconds.
func TestRateLimitedAnswer(t *testing.T) {
	res, err := RateLimited("tools/call", "b__echo", Rate{N: 5, Per: time.Minute}, 1500*time.Microsecond)
	var r struct {
		Content []struct{ Text string } `json:"content"`
		IsError bool                    `json:"isError"`
		Meta    map[string]any          `json:"_meta"`
	}
	if err != nil || json.Unmarshal(res, &r) != nil || !r.IsError || len(r.Content) != 1 {
		t.Fatalf("tools/call answer %s, %v; want an isError result", res, err)
	}
	if !strings.Contains(r.Content[0].Text, `"b__echo"`) || !strings.Contains(r.Content[0].Text, "5/m") ||
		r.Meta[MetaError] != ErrRateLimited || r.Meta[MetaRetryAfter] != float64(2) {
		t.Errorf("tools/call answer %s; want text naming b__echo and 5/m, _meta rate_limited, retry_after_ms 2", res)
	}
	_, err = RateLimited("prompts/get", "greet", Rate{N: 1, Per: time.Hour}, time.Minute)
	var e *mcp.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, `"greet"`) || !strings.Contains(e.Message, "1/h") {
		t.Fatalf("prompts/get answer %v; want a JSON-RPC error naming greet and 1/h", err)
	}
	if data, _ := e.Data.(map[string]any); data[MetaError] != ErrRateLimited || data[MetaRetryAfter] != int64(60000) {
		t.Errorf("prompts/get error data %v; want rate_limited, retry_after_ms 60000", e.Data)
	}
}
