package mcp

import (
	"context"
	"errors"
	"testing"
)

// TestSessionInUseIsNotEvicted: a session looked up for a request (and
// not yet attached to a stream or a tracked request) is not quiet, so a
// new session at the bound cannot evict it under that request; once the
// request releases it, it can be.
func TestSessionInUseIsNotEvicted(t *testing.T) {
	s := NewServer(nil, ServerOptions{MaxSessions: 10, MaxSessionsPerPrincipal: 1})
	t.Cleanup(s.Close)
	ctx := WithPrincipal(context.Background(), Principal{Subject: "alice"})
	first := newSession(ctx, s.ids.Mint(), SupportedVersions[0], nil)
	if _, err := s.admit(first); err != nil {
		t.Fatalf("admit first: %v", err)
	}
	used := s.ownedSession(first.id, Principal{Subject: "alice"})
	if used != first {
		t.Fatal("ownedSession did not find the owner's session")
	}
	_, err := s.admit(newSession(ctx, s.ids.Mint(), SupportedVersions[0], nil))
	var bound *BoundError
	if !errors.As(err, &bound) || bound.Bound != boundPerPrincipal {
		t.Fatalf("admit while the only session is in use: %v, want the per-principal BoundError", err)
	}
	if s.ownedSession(first.id, Principal{Subject: "alice"}) == nil {
		t.Fatal("the session in use was evicted")
	}
	used.release()
	used.release() // the second lookup above
	victims, err := s.admit(newSession(ctx, s.ids.Mint(), SupportedVersions[0], nil))
	if err != nil || len(victims) != 1 || victims[0].sess != first {
		t.Fatalf("admit after release: victims %v, err %v; want the released session evicted", victims, err)
	}
}
