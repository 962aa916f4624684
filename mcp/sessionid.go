package mcp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// A legacy session's Mcp-Session-Id names the node that minted it, under a
// MAC that every node of the ring can check (the key derives from the
// ring's JWT secret, see SessionKey):
//
//	m1.<node>.<random>.<mac>
//
// node is the minting node's name (its ring member name, ServerOptions
// NodeName), random 16 random bytes, mac the first 16 bytes of
// HMAC-SHA256(key, "m1.<node>.<random>"); each part base64url without
// padding, so the id is visible ASCII (0x21–0x7E) as the spec asks. Any
// node of the ring can thus tell an id another member minted from a forged
// or altered one (SessionOwner) without asking anyone. The id only names
// its node: which principal owns the session is still the owner's to
// check, and a session is still only served by the node that holds it.

// sessionIDPrefix names the id's format (version 1).
const sessionIDPrefix = "m1."

// sessionLabel derives a Server's session id key from a secret (see
// SessionKey); another label than StateKey's, so the two keys differ.
const sessionLabel = "mcpmesh session id v1"

// sessionRandBytes and sessionMACBytes are the sizes of the id's random
// part and of its (truncated) MAC.
const (
	sessionRandBytes = 16
	sessionMACBytes  = 16
)

var b64 = base64.RawURLEncoding.Strict()

// SessionKey derives the key that MACs session ids from the ring's shared
// secret: every node given the same secret checks the others' ids.
func SessionKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(sessionLabel))
	return mac.Sum(nil)
}

// SessionIDs mints session ids for one node and tells which node minted an
// id, under one key.
type SessionIDs struct {
	key  []byte
	node string
}

// NewSessionIDs mints ids naming node under key, or under a random key of
// its own when key is empty (then only it verifies what it minted).
func NewSessionIDs(key []byte, node string) *SessionIDs {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &SessionIDs{key: append([]byte(nil), key...), node: node}
}

// Mint returns a new session id naming this node.
func (ids *SessionIDs) Mint() string {
	raw := make([]byte, sessionRandBytes)
	_, _ = rand.Read(raw)
	head := sessionIDPrefix + b64.EncodeToString([]byte(ids.node)) + "." + b64.EncodeToString(raw)
	return head + "." + ids.mac(head)
}

func (ids *SessionIDs) mac(head string) string {
	m := hmac.New(sha256.New, ids.key)
	m.Write([]byte(head))
	return b64.EncodeToString(m.Sum(nil)[:sessionMACBytes])
}

// Owner is the name of the node that minted id, if id is well formed and
// its MAC checks under this key; ok is false for anything else: an id of
// another format or version, altered, truncated, or minted under another
// key (another ring).
func (ids *SessionIDs) Owner(id string) (node string, ok bool) {
	rest, ok := strings.CutPrefix(id, sessionIDPrefix)
	if !ok {
		return "", false
	}
	parts := strings.SplitN(rest, ".", 4)
	if len(parts) != 3 {
		return "", false
	}
	head := id[:len(id)-len(parts[2])-1]
	if !hmac.Equal([]byte(parts[2]), []byte(ids.mac(head))) {
		return "", false
	}
	name, err := b64.DecodeString(parts[0])
	random, err2 := b64.DecodeString(parts[1])
	if err != nil || err2 != nil || len(name) == 0 || len(random) != sessionRandBytes {
		return "", false
	}
	return string(name), true
}
