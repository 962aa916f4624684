package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Gossip message types: the first byte of every user message and push-pull
// state this package sends. A new encoding gets a new type; receivers drop
// types they do not know.
const (
	msgRecord byte = 1 // one PeerRecord as JSON (broadcast)
	msgState  byte = 2 // {"records":[PeerRecord...],"rules":[RuleRecord...]} as JSON (push-pull)
	msgRule   byte = 4 // one RuleRecord as JSON (broadcast); 3 is msgRefused (identity.go)
)

// Bounds on gossip input: anything larger is dropped unread.
const (
	maxMsgBytes     = 1400    // a user message arrives in one UDP packet
	maxStateBytes   = 4 << 20 // push-pull state
	maxStateRecords = 20000
)

// wireState is the push-pull payload.
type wireState struct {
	Records []json.RawMessage `json:"records"`
}

// decodeRecord parses and validates one record's JSON.
func decodeRecord(b []byte) (PeerRecord, error) { return lwwDecode[PeerRecord](b, ErrInvalid) }

// decodeRecordMsg parses a broadcast.
func decodeRecordMsg(msg []byte) (PeerRecord, error) {
	switch {
	case len(msg) == 0:
		return PeerRecord{}, fmt.Errorf("empty message")
	case len(msg) > maxMsgBytes:
		return PeerRecord{}, fmt.Errorf("message of %d bytes is over the limit of %d", len(msg), maxMsgBytes)
	case msg[0] != msgRecord:
		return PeerRecord{}, fmt.Errorf("unknown message type %d", msg[0])
	}
	return decodeRecord(msg[1:])
}

// encodeState returns the push-pull payload for recs, newest first, cut at
// maxStateBytes (the rest is left to later rounds and broadcasts) — the
// count of records left out is returned.
func encodeState(recs []PeerRecord) ([]byte, int) {
	slices.SortFunc(recs, func(a, b PeerRecord) int { return compareRecords(b, a) })
	var buf bytes.Buffer
	buf.WriteByte(msgState)
	buf.WriteString(`{"records":[`)
	n := 0
	for _, r := range recs {
		b := r.canonical()
		if b == nil || buf.Len()+len(b)+3 > maxStateBytes || n == maxStateRecords {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
		n++
	}
	buf.WriteString("]}")
	return buf.Bytes(), len(recs) - n
}

// decodeState parses a push-pull payload. Invalid records are skipped and
// counted; a malformed payload is refused as a whole.
func decodeState(b []byte) (recs []PeerRecord, bad int, err error) {
	switch {
	case len(b) == 0:
		return nil, 0, nil // a node with nothing to say
	case len(b) > maxStateBytes:
		return nil, 0, fmt.Errorf("state of %d bytes is over the limit of %d", len(b), maxStateBytes)
	case b[0] != msgState:
		return nil, 0, fmt.Errorf("unknown state type %d", b[0])
	}
	var ws wireState
	if err := json.Unmarshal(b[1:], &ws); err != nil {
		return nil, 0, fmt.Errorf("malformed state: %v", err)
	}
	if len(ws.Records) > maxStateRecords {
		return nil, 0, fmt.Errorf("state of %d records is over the limit of %d", len(ws.Records), maxStateRecords)
	}
	for _, raw := range ws.Records {
		r, err := decodeRecord(raw)
		if err != nil {
			bad++
			continue
		}
		recs = append(recs, r)
	}
	return recs, bad, nil
}

// withRules adds the rules to a push-pull payload made by encodeState
// (older nodes ignore the field), as many as fit in maxStateBytes.
func withRules(state []byte, rules []json.RawMessage) []byte {
	if len(rules) == 0 || len(state) < 2 {
		return state
	}
	var buf bytes.Buffer
	buf.Write(state[:len(state)-1]) // without the closing brace
	buf.WriteString(`,"rules":[`)
	n := 0
	for _, r := range rules {
		if buf.Len()+len(r)+3 > maxStateBytes {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r)
		n++
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// stateRules returns the rules of a push-pull payload.
func stateRules(b []byte) ([]json.RawMessage, error) {
	switch {
	case len(b) == 0:
		return nil, nil
	case len(b) > maxStateBytes:
		return nil, fmt.Errorf("state of %d bytes is over the limit of %d", len(b), maxStateBytes)
	case b[0] != msgState:
		return nil, fmt.Errorf("unknown state type %d", b[0])
	}
	var ws struct {
		Rules []json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal(b[1:], &ws); err != nil {
		return nil, fmt.Errorf("malformed state: %v", err)
	}
	if len(ws.Rules) > maxStateRecords {
		return nil, fmt.Errorf("state of %d rules is over the limit of %d", len(ws.Rules), maxStateRecords)
	}
	return ws.Rules, nil
}
