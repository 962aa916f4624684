package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mcpmesh/mcpmesh/store"
)

func safetyCases() []testCase {
	return []testCase{
		{"values in and out are copies", testCopies},
		{"invalid keys are rejected and change nothing", testInvalidKeys},
		{"close is idempotent and later calls fail", testClose},
		{"concurrent use", testConcurrent},
	}
}

func testCopies(t *testing.T, s store.Store) {
	buf := []byte("put")
	if err := s.Put("put", buf); err != nil {
		t.Fatalf("Put: %v", err)
	}
	copy(buf, "XXX")
	batchBuf := []byte("batch")
	mustBatch(t, s, store.Op{Key: "batch", Value: batchBuf})
	copy(batchBuf, "XXXXX")
	wantValue(t, s, "put", "put")
	wantValue(t, s, "batch", "batch")

	got, err := s.Get("put")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(got, "YYY")
	wantValue(t, s, "put", "put")

	var kept [][]byte
	if err := s.Scan("", func(_ string, v []byte) error {
		kept = append(kept, v)
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	for _, v := range kept {
		copy(v, "ZZZ")
	}
	wantScan(t, s, "", kv{"batch", "batch"}, kv{"put", "put"})
}

func testInvalidKeys(t *testing.T, s store.Store) {
	long := strings.Repeat("k", store.MaxKeyLen+1)
	calls := []struct {
		name string
		call func() error
	}{
		{"Get empty", func() error { _, err := s.Get(""); return err }},
		{"Put empty", func() error { return s.Put("", []byte("v")) }},
		{"Delete empty", func() error { return s.Delete("") }},
		{"Batch empty", func() error { return s.Batch([]store.Op{{Key: "", Value: []byte("v")}}) }},
		{"Get too long", func() error { _, err := s.Get(long); return err }},
		{"Put too long", func() error { return s.Put(long, []byte("v")) }},
		{"Delete too long", func() error { return s.Delete(long) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("%s = %v, want an error wrapping ErrInvalidKey", c.name, err)
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s = %v: an invalid key must not look like a missing one", c.name, err)
			}
			wantScan(t, s, "")
		})
	}
	t.Run("longest key works", func(t *testing.T) {
		key := strings.Repeat("k", store.MaxKeyLen)
		mustPut(t, s, key, "v")
		wantValue(t, s, key, "v")
	})
}

func testClose(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v")
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d = %v, want nil", i+1, err)
		}
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get("k"); return err }},
		{"Put", func() error { return s.Put("k", []byte("v")) }},
		{"Delete", func() error { return s.Delete("k") }},
		{"Batch", func() error { return s.Batch([]store.Op{{Key: "k", Value: []byte("v")}}) }},
		{"Scan", func() error { return s.Scan("", func(string, []byte) error { return nil }) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close = %v, want an error wrapping ErrClosed", c.name, err)
			}
		})
	}
}

const (
	workers      = 8
	opsPerWorker = 40
)

// testConcurrent runs workers that each own a key range and all share one
// key; run under -race it also checks the backend's locking.
func testConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := worker(s, w); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		got := scanAll(t, s, fmt.Sprintf("c/%d/", w))
		if len(got) != opsPerWorker/2 {
			t.Errorf("worker %d left %d keys, want %d", w, len(got), opsPerWorker/2)
		}
	}
	if _, err := s.Get("shared"); err != nil {
		t.Fatalf("Get(shared): %v", err)
	}
}

func worker(s store.Store, w int) error {
	prefix := fmt.Sprintf("c/%d/", w)
	for i := range opsPerWorker {
		key := fmt.Sprintf("%s%03d", prefix, i)
		val := []byte(fmt.Sprintf("%d-%d", w, i))
		if err := s.Batch([]store.Op{{Key: key, Value: val}, {Key: "shared", Value: val}}); err != nil {
			return err
		}
		if got, err := s.Get(key); err != nil || string(got) != string(val) {
			return fmt.Errorf("get %q = %q, %v; want %q", key, got, err, val)
		}
		if _, err := s.Get("shared"); err != nil {
			return fmt.Errorf("get shared: %w", err)
		}
		if err := deleteOdd(s, key, i); err != nil {
			return err
		}
	}
	return countKeys(s, prefix, opsPerWorker/2)
}

func deleteOdd(s store.Store, key string, i int) error {
	if i%2 == 0 {
		return nil
	}
	return s.Delete(key)
}

func countKeys(s store.Store, prefix string, want int) error {
	n := 0
	err := s.Scan(prefix, func(string, []byte) error { n++; return nil })
	if err == nil && n != want {
		err = fmt.Errorf("scan %q saw %d keys, want %d", prefix, n, want)
	}
	return err
}
