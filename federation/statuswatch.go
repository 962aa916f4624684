package federation

import "time"

// statusPoll is how often the engine looks at its peers' health for the
// changes no event announces, so that listings (and the list_changed their
// clients hear) follow them within a poll: a peer's port that refuses
// while gossip still says it is alive (a killed node, about a second and a
// half before gossip declares it dead; a node whose HTTP side is gone),
// and a link whose grace (linkGrace) ran out.
const statusPoll = 100 * time.Millisecond

// watchStatus runs until Close, calling changed when a link's status moved
// since the last poll.
func (f *Engine) watchStatus() {
	defer f.wg.Done()
	tick := time.NewTicker(statusPoll)
	defer tick.Stop()
	last := map[*peerLink]string{}
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-tick.C:
		}
		if f.statusMoved(last) {
			f.changed()
		}
	}
}

// statusMoved takes every link's status, reports whether one differs from
// last (a link new since then counts as unchanged: its coming raised its
// own change), and leaves the new statuses in last. It probes the port of
// each link marked refusing (linkwatch.go), to clear the mark once the
// port accepts again.
func (f *Engine) statusMoved(last map[*peerLink]string) bool {
	moved := false
	links := f.linkList()
	now := make(map[*peerLink]string, len(links))
	for _, l := range links {
		if l.refusing.Load() {
			go l.probe() // back yet?
		}
		now[l] = l.status()
		if prev, ok := last[l]; ok && prev != now[l] {
			moved = true
		}
	}
	clear(last)
	for l, st := range now {
		last[l] = st
	}
	return moved
}
