package gateway

import (
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// AloneAfter is how long a node given seeds may be alone in its ring with
// no seed answering before /ready says 503.
const AloneAfter = 30 * time.Second

// seedProblem is why a node that has no member is not ready, or "" for
// ready: the seeds, or the members it retries, refuse its gossip key; it
// was given seeds (--join) and none has answered yet (it has not joined);
// or it has been alone, with no seed answering, for AloneAfter. A node
// given no seeds, or whose seeds include itself (the first of its ring),
// is otherwise ready alone.
func seedProblem(st cluster.SeedStatus, members int, now time.Time) (status, reason string) {
	switch {
	case members > 1:
		return "", ""
	case st.KeyRefused != nil:
		return "gossip key refused", "the ring refuses this node's gossip key (see `mcpmesh keyring list` on a member): " + st.KeyRefused.Error()
	case !st.Given || st.Self:
		return "", ""
	case st.Answered.IsZero():
		return "joining", "no seed has answered yet: the node has not joined its ring"
	case now.Sub(later(st.Answered, st.Company)) >= AloneAfter:
		return "alone", "the node is alone in its ring and no seed has answered for " + AloneAfter.String()
	}
	return "", ""
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
