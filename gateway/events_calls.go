package gateway

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// The dashboard's call counters: the tools/call requests this node
// answered, by source (a peer, a service, or the node itself), counted per
// second and kept for the last callHistory seconds.
const (
	callHistory      = 300  // seconds of samples kept (five minutes)
	maxCallSources   = 256  // sources counted in one second; more go to "(other)"
	maxCallDurations = 1024 // durations kept per source per second for p50/p99
)

// callSeries is one source's calls in one second.
type callSeries struct {
	Kind   string  `json:"kind"` // peer, service, local or other
	Name   string  `json:"name"`
	Calls  int     `json:"calls"` // in the second: calls per second
	Errors int     `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
}

// callSample is one second of calls, by source (sorted by kind and name).
type callSample struct {
	T      int64        `json:"t"` // the second's end, Unix milliseconds
	Series []callSeries `json:"series"`
}

// callBucket collects one source's calls during the current second.
type callBucket struct {
	calls, errors int
	durations     []time.Duration
}

// callRecorder counts calls as they finish and turns each second into a
// callSample, keeping the last callHistory of them.
type callRecorder struct {
	mu      sync.Mutex
	current map[string]*callBucket
	history []callSample // oldest first, at most callHistory
}

func newCallRecorder() *callRecorder {
	return &callRecorder{current: map[string]*callBucket{}}
}

// record counts one finished call of source.
func (r *callRecorder) record(source string, d time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.current[source]
	if b == nil {
		if len(r.current) >= maxCallSources {
			source = "(other)"
		}
		if b = r.current[source]; b == nil {
			b = &callBucket{}
			r.current[source] = b
		}
	}
	b.calls++
	if failed {
		b.errors++
	}
	if len(b.durations) < maxCallDurations {
		b.durations = append(b.durations, d)
	}
}

// roll closes the current second at now: kind names each source's kind.
func (r *callRecorder) roll(now time.Time, kind func(string) string) callSample {
	r.mu.Lock()
	cur := r.current
	r.current = map[string]*callBucket{}
	r.mu.Unlock()
	s := callSample{T: now.UnixMilli(), Series: []callSeries{}}
	for name, b := range cur {
		s.Series = append(s.Series, b.series(kind(name), name))
	}
	slices.SortFunc(s.Series, func(a, b callSeries) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	r.mu.Lock()
	r.history = append(r.history, s)
	if len(r.history) > callHistory {
		r.history = slices.Clone(r.history[len(r.history)-callHistory:])
	}
	r.mu.Unlock()
	return s
}

// samples returns a copy of the samples kept, oldest first.
func (r *callRecorder) samples() []callSample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.history)
}

func (b *callBucket) series(kind, name string) callSeries {
	slices.Sort(b.durations)
	return callSeries{Kind: kind, Name: name, Calls: b.calls, Errors: b.errors,
		P50: quantileMillis(b.durations, 50), P99: quantileMillis(b.durations, 99)}
}

// quantileMillis is the q-th percentile of sorted, in milliseconds.
func quantileMillis(sorted []time.Duration, q int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	d := sorted[(len(sorted)-1)*q/100]
	return float64(d.Microseconds()) / 1000
}
