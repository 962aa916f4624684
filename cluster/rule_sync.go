package cluster

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// decodeRule parses and validates one rule record's JSON.
func decodeRule(b []byte) (RuleRecord, error) {
	if err := checkSize("", len(b)); err != nil {
		return RuleRecord{}, err
	}
	var r RuleRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return RuleRecord{}, fmt.Errorf("%w: %v", ErrRuleInvalid, err)
	}
	r = r.normalize()
	return r, r.check()
}

// receiveMsg merges a broadcast rule (msg without its type byte) and
// re-broadcasts it once if it was new here.
func (r *RuleRegistry) receiveMsg(body []byte) {
	rec, err := decodeRule(body)
	if err != nil {
		r.drops.warn("dropped a rule broadcast", "err", err)
		return
	}
	for _, c := range r.mergeBatch([]RuleRecord{rec}) {
		r.send(c)
	}
}

// stateRecords returns every rule's JSON, for the push-pull payload.
func (r *RuleRegistry) stateRecords() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]json.RawMessage, 0, len(r.enc))
	for _, b := range r.enc {
		out = append(out, json.RawMessage(b))
	}
	return out
}

// mergeRemote merges the rules of a peer's push-pull payload.
func (r *RuleRegistry) mergeRemote(raws []json.RawMessage) {
	recs := make([]RuleRecord, 0, len(raws))
	bad := 0
	for _, raw := range r.unknown(raws) {
		rec, err := decodeRule(raw)
		if err != nil {
			bad++
			continue
		}
		recs = append(recs, rec)
	}
	if bad > 0 {
		r.drops.warn("dropped invalid rules of a push-pull state", "count", bad)
	}
	for i, c := range r.mergeBatch(recs) {
		if i == maxRebroadcast {
			break
		}
		r.send(c)
	}
}

// unknown returns the encodings of raws this registry does not hold as
// they are.
func (r *RuleRegistry) unknown(raws []json.RawMessage) []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := raws[:0:0]
	for _, raw := range raws {
		if _, ok := r.known[string(raw)]; !ok {
			out = append(out, raw)
		}
	}
	return out
}

// mergeBatch merges records from the ring and returns those that changed
// the registry.
func (r *RuleRegistry) mergeBatch(recs []RuleRecord) []RuleRecord {
	now := r.now()
	var out []RuleRecord
	r.mu.Lock()
	for _, rec := range recs {
		if r.admit(rec, now) && r.applyLocked(rec) {
			r.clock.Update(rec.Version)
			r.unstored[rec.Name] = struct{}{}
			out = append(out, rec)
		}
	}
	r.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	r.dirty()
	for _, rec := range out {
		r.changed(rec)
	}
	return out
}

// admit refuses rules dated too far in the future and expired tombstones.
func (r *RuleRegistry) admit(rec RuleRecord, now time.Time) bool {
	if rec.Version.Time().After(now.Add(r.maxSkew)) {
		r.drops.warn("dropped a rule from the future", "rule", rec.Name, "version", rec.Version, "writer", rec.Writer)
		return false
	}
	return !(rec.Deleted && r.tombTTL > 0 && rec.Version.Time().Before(now.Add(-r.tombTTL)))
}

// flush persists the rules merged from the ring since the last flush.
func (r *RuleRegistry) flush() error {
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	names := r.unstored
	r.unstored = map[string]struct{}{}
	ops := make([]store.Op, 0, len(names))
	for name := range names {
		if b, ok := r.enc[name]; ok {
			ops = append(ops, store.Op{Key: rulePrefix + name, Value: []byte(b)})
		} else {
			ops = append(ops, store.Op{Key: rulePrefix + name, Delete: true})
		}
	}
	r.mu.Unlock()
	if len(ops) == 0 || r.st == nil {
		return nil
	}
	if err := r.st.Batch(ops); err != nil {
		r.mu.Lock()
		for name := range names {
			r.unstored[name] = struct{}{}
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

// collectTombstones forgets rule tombstones older than the TTL.
func (r *RuleRegistry) collectTombstones() {
	if r.tombTTL <= 0 {
		return
	}
	cutoff := r.now().Add(-r.tombTTL)
	r.mu.Lock()
	n := 0
	for name, rec := range r.state {
		if rec.Deleted && rec.Version.Time().Before(cutoff) {
			delete(r.state, name)
			r.forgetLocked(name)
			r.unstored[name] = struct{}{}
			n++
		}
	}
	if n > 0 {
		r.digest = ""
		r.gen.Add(1)
	}
	r.mu.Unlock()
	if n > 0 {
		r.dirty()
	}
}
