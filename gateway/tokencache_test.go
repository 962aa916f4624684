package gateway

import (
	"strings"
	"testing"
	"time"
)

// TestTokenCache: a remembered token is answered alike, and refused once
// its exp has passed, as an unremembered one would be.
func TestTokenCache(t *testing.T) {
	now := time.Now()
	tc := newTokenCache([]byte(testSecret), nil)
	tc.now = func() time.Time { return now }
	tok, err := MintToken([]byte(testSecret), "alice", ScopeMCP, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c, err := tc.parse(t.Context(), tok)
		if err != nil || c.Subject != "alice" || c.Scope != ScopeMCP {
			t.Fatalf("parse %d: %+v, %v", i, c, err)
		}
	}
	if len(tc.m) != 1 {
		t.Fatalf("%d tokens remembered, want 1", len(tc.m))
	}
	now = now.Add(2 * time.Hour)
	if _, err := tc.parse(t.Context(), tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a remembered token past its exp: %v, want expired", err)
	}
	forged := tok[:len(tok)-2] + "xx"
	if _, err := tc.parse(t.Context(), forged); err == nil {
		t.Fatal("a token with a bad signature was accepted")
	}
}

func TestTokenCacheBounded(t *testing.T) {
	tc := newTokenCache([]byte(testSecret), nil)
	for i := range tokenCacheSize + 10 {
		tok, err := MintToken([]byte(testSecret), "user-"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), ScopeAdmin, time.Duration(i+1)*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.parse(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tc.m); n > tokenCacheSize {
		t.Fatalf("%d tokens remembered, more than %d", n, tokenCacheSize)
	}
}
