package mcp_test

import "strings"

// leakMarks are what a client-visible error text must not hold: addresses,
// the transport's and processes' details, the chain of wrapped errors the
// node logs instead.
var leakMarks = []string{"http://", "127.0.0.1", "Post ", "dial tcp", "connect:", "connection refused",
	"exit status", "stderr", "signal", "EOF", "s3cret", "initialize"}

// leaksDetail reports whether text holds any of leakMarks.
func leaksDetail(text string) bool {
	for _, m := range leakMarks {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}
