package testlog

import (
	"strings"
	"sync"
	"testing"
)

func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { _, _ = b.Write([]byte(strings.Repeat("x", i) + " cut\n")) })
	}
	wg.Wait()
	if n := b.Count("cut"); n != 8 {
		t.Errorf("Count = %d, want 8", n)
	}
	if got := strings.Count(b.Lines("xxxxxxx "), "\n"); got != 0 || !strings.Contains(b.Lines("xxxxxxx "), "xxxxxxx cut") {
		t.Errorf("Lines(xxxxxxx ) = %q, want the one line", b.Lines("xxxxxxx "))
	}
	bounded := Buffer{Max: 4}
	for range 3 {
		if n, err := bounded.Write([]byte("abc")); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v; a bounded buffer still takes every write", n, err)
		}
	}
	if got := bounded.String(); got != "abcabc" {
		t.Errorf("bounded String = %q, want writes kept until Max is passed", got)
	}
}
