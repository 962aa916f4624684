package cluster

import (
	"cmp"
	"fmt"
	"math"
	"sync"
	"time"
)

// HLC is a hybrid logical clock timestamp: wall-clock milliseconds since the
// Unix epoch and a logical counter that orders events within the same
// millisecond (or while the wall clock lags a timestamp seen from another
// node). HLCs are totally ordered by (Wall, Logical).
type HLC struct {
	Wall    int64  `json:"wall"`
	Logical uint32 `json:"logical"`
}

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	if c := cmp.Compare(h.Wall, o.Wall); c != 0 {
		return c
	}
	return cmp.Compare(h.Logical, o.Logical)
}

// IsZero reports whether h is the zero timestamp.
func (h HLC) IsZero() bool { return h == HLC{} }

// Time returns h's wall-clock part.
func (h HLC) Time() time.Time { return time.UnixMilli(h.Wall).UTC() }

// String formats h as "wall.logical".
func (h HLC) String() string { return fmt.Sprintf("%d.%d", h.Wall, h.Logical) }

// next returns the smallest HLC after h.
func (h HLC) next() HLC {
	if h.Logical == math.MaxUint32 {
		return HLC{Wall: h.Wall + 1}
	}
	return HLC{Wall: h.Wall, Logical: h.Logical + 1}
}

// Clock issues HLC timestamps. It is safe for concurrent use. Every
// timestamp it issues is greater than every timestamp it issued or was
// updated with before, whatever the wall clock does.
type Clock struct {
	mu   sync.Mutex
	last HLC
	now  func() time.Time
}

// NewClock returns a Clock reading now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a new timestamp for a local event.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	if pt > c.last.Wall {
		c.last = HLC{Wall: pt}
	} else {
		c.last = c.last.next()
	}
	return c.last
}

// Update merges a timestamp received from another node (the HLC receive
// rule) and returns the clock's new timestamp, which is greater than both
// remote and every earlier timestamp of c.
func (c *Clock) Update(remote HLC) HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	switch {
	case pt > c.last.Wall && pt > remote.Wall:
		c.last = HLC{Wall: pt}
	case remote.Compare(c.last) > 0:
		c.last = remote.next()
	default:
		c.last = c.last.next()
	}
	return c.last
}

// Last returns the latest timestamp issued or observed.
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
