package mcp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A 2026-07-28 caller gets an input_required result's requestState sealed
// by the node: the inner state (what the Backend chose, maybe "") with the
// method, the tool or prompt name or resource URI, the caller's principal
// and an expiry, under an HMAC-SHA256 that every node of the ring can check
// (the key derives from the ring's JWT secret, see StateKey). The retry
// may reach any node; the one it reaches opens the state before anything
// is dispatched, and a state that was altered, sealed by another ring,
// expired, or issued to another principal or for another request is
// refused with -32602.

// DefaultStateTTL is how long a sealed requestState stays good (see
// ServerOptions.StateTTL): as long as a held call waits for its retry.
const DefaultStateTTL = DefaultInputTimeout

// statePrefix names the seal's format: "mcpmesh1.<payload>.<mac>", both
// parts base64url without padding, the MAC over "mcpmesh1.<payload>".
const statePrefix = "mcpmesh1."

// stateLabel derives a Server's state key from a secret (see StateKey).
const stateLabel = "mcpmesh requestState v1"

// StateKey derives the key that seals requestState from the ring's shared
// secret: every node given the same secret seals and opens alike.
func StateKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(stateLabel))
	return mac.Sum(nil)
}

// sealedState is what a sealed requestState holds.
type sealedState struct {
	Inner   string `json:"s,omitempty"`
	Method  string `json:"m"`
	Name    string `json:"n"`
	Issuer  string `json:"i,omitempty"`
	Subject string `json:"u,omitempty"`
	Expires int64  `json:"e"` // unix seconds
}

// stateSealer seals and opens requestState with one key.
type stateSealer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// newStateSealer seals with key, or with a random key of its own when key
// is empty (then only this Server opens what it sealed).
func newStateSealer(key []byte, ttl time.Duration) *stateSealer {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	return &stateSealer{key: key, ttl: ttl, now: time.Now}
}

// seal returns st sealed, with its expiry set from now.
func (ss *stateSealer) seal(st sealedState) string {
	st.Expires = ss.now().Add(ss.ttl).Unix()
	payload, _ := json.Marshal(st)
	head := statePrefix + base64.RawURLEncoding.EncodeToString(payload)
	return head + "." + base64.RawURLEncoding.EncodeToString(ss.mac(head))
}

func (ss *stateSealer) mac(head string) []byte {
	m := hmac.New(sha256.New, ss.key)
	m.Write([]byte(head))
	return m.Sum(nil)
}

// open checks a sealed state against the request it came back with
// (method, name, principal) and returns its inner state.
func (ss *stateSealer) open(sealed, method, name string, p Principal) (string, error) {
	st, err := ss.unseal(sealed)
	if err != nil {
		return "", err
	}
	switch {
	case ss.now().Unix() > st.Expires:
		return "", fmt.Errorf("it expired at %s", time.Unix(st.Expires, 0).UTC().Format(time.RFC3339))
	case st.Issuer != p.Issuer || st.Subject != p.Subject:
		return "", errors.New("it was issued to another caller")
	case st.Method != method || st.Name != name:
		return "", fmt.Errorf("it was issued for %s %q, not for %s %q", st.Method, st.Name, method, name)
	}
	return st.Inner, nil
}

// unseal checks the format and the MAC, and decodes the payload.
func (ss *stateSealer) unseal(sealed string) (sealedState, error) {
	var st sealedState
	rest, ok := strings.CutPrefix(sealed, statePrefix)
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return st, errors.New("it is not a state this ring issued (format)")
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, ss.mac(statePrefix+payload)) {
		return st, errors.New("it was altered, or sealed by another ring")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(raw, &st) != nil {
		return st, errors.New("its payload does not decode")
	}
	return st, nil
}

// takesInput reports whether method may answer input_required.
func takesInput(method string) bool {
	return method == "tools/call" || method == "prompts/get" || method == "resources/read"
}

// openParams replaces a 2026-07-28 request's sealed params.requestState by
// its inner state (dropped when empty); a state that does not open is
// -32602 "invalid requestState: <why>".
func (ss *stateSealer) openParams(ctx context.Context, m *Message, params json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(params, []byte(`"requestState"`)) {
		return params, nil
	}
	raw := field(params, "requestState")
	if raw == nil {
		return params, nil
	}
	var sealed string
	if err := json.Unmarshal(raw, &sealed); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid requestState: it is not a string")
	}
	name, _ := nameOf(&Message{Method: m.Method, Params: params})
	inner, err := ss.open(sealed, m.Method, name, PrincipalFrom(ctx))
	if err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid requestState: %v", err)
	}
	var state json.RawMessage // nil drops the key
	if inner != "" {
		state, _ = json.Marshal(inner)
	}
	out, _ := withFields(params, jsonField{key: "requestState", val: state})
	return out, nil
}

// sealResult seals the requestState of an input_required result for the
// request m with params; any other result is returned as it is.
func (ss *stateSealer) sealResult(ctx context.Context, m *Message, params, res json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(res, []byte(`"input_required"`)) {
		return res, nil
	}
	if string(field(res, "resultType")) != `"input_required"` {
		return res, nil
	}
	var inner string
	if raw := field(res, "requestState"); raw != nil && json.Unmarshal(raw, &inner) != nil {
		return nil, Errorf(CodeInternalError, "internal error: an input_required result's requestState is not a string")
	}
	name, _ := nameOf(&Message{Method: m.Method, Params: params})
	p := PrincipalFrom(ctx)
	st := sealedState{Inner: inner, Method: m.Method, Name: name, Issuer: p.Issuer, Subject: p.Subject}
	sealed, _ := json.Marshal(ss.seal(st))
	out, _ := withFields(res, jsonField{key: "requestState", val: sealed})
	return out, nil
}
