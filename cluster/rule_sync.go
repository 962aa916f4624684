package cluster

import "encoding/json"

// receiveMsg merges a broadcast rule (msg without its type byte) and
// re-broadcasts it once if it was new here.
func (r *RuleRegistry) receiveMsg(body []byte) {
	rec, err := decodeRule(body)
	if err != nil {
		r.drops.warn("dropped a rule broadcast", "err", err)
		return
	}
	r.spread([]RuleRecord{rec})
}

// stateRecords returns every rule's JSON, for the push-pull payload.
func (r *RuleRegistry) stateRecords() []json.RawMessage { return r.encodings() }

// mergeRemote merges the rules of a peer's push-pull payload, skipping
// unread those this registry holds as they are.
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
	r.spread(recs)
}
