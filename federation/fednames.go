package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxToolName is the longest name a federated tool or prompt gets.
const maxToolName = 64

// FederatedName is how a peer's entry is listed here: "<peer>__<name>",
// only [A-Za-z0-9_.-], at most 64 characters. A name that must be changed
// to fit gets a deterministic short hash of the original, so two entries
// never collide by being cut the same way.
func FederatedName(peer, name string) string {
	full := peer + "__" + name
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, full)
	if clean == full && len(full) <= maxToolName {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	tag := "-" + hex.EncodeToString(sum[:4])
	return clean[:min(len(clean), maxToolName-len(tag))] + tag
}

// splitFederated splits a listed name at its first "__".
func splitFederated(name string) (peer, rest string, ok bool) {
	return strings.Cut(name, "__")
}
