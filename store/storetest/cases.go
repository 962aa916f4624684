package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

func basicCases() []testCase {
	return []testCase{
		{"get absent key is ErrNotFound", func(t *testing.T, s store.Store) {
			wantAbsent(t, s, "nope")
		}},
		{"put then get", testPutGet},
		{"overwrite replaces", func(t *testing.T, s store.Store) {
			mustPut(t, s, "k", "v1")
			mustPut(t, s, "k", "v2")
			wantValue(t, s, "k", "v2")
			wantScan(t, s, "", kv{"k", "v2"})
		}},
		{"delete removes", func(t *testing.T, s store.Store) {
			mustPut(t, s, "k", "v")
			mustPut(t, s, "k2", "v2")
			if err := s.Delete("k"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			wantAbsent(t, s, "k")
			wantScan(t, s, "", kv{"k2", "v2"})
		}},
		{"delete absent is not an error", func(t *testing.T, s store.Store) {
			if err := s.Delete("never"); err != nil {
				t.Fatalf("Delete(absent) = %v, want nil", err)
			}
			wantAbsent(t, s, "never")
		}},
	}
}

func testPutGet(t *testing.T, s store.Store) {
	values := []struct {
		name  string
		value []byte
	}{
		{"text", []byte("hello")},
		{"empty", []byte{}},
		{"nil", nil},
		{"binary", []byte{0, 1, 0xff, 0, '\n'}},
		{"64KiB", bytes.Repeat([]byte("abcdefgh"), 8<<10)},
	}
	for _, v := range values {
		t.Run(v.name, func(t *testing.T) {
			key := "k/" + v.name
			if err := s.Put(key, v.value); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := s.Get(key)
			if err != nil || !bytes.Equal(got, v.value) {
				t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(v.value))
			}
		})
	}
}

func batchCases() []testCase {
	return []testCase{
		{"batch applies every op in order", func(t *testing.T, s store.Store) {
			mustPut(t, s, "a", "old-a")
			mustPut(t, s, "b", "old-b")
			mustBatch(t, s,
				store.Op{Key: "a", Delete: true},
				store.Op{Key: "b", Value: []byte("new-b")},
				store.Op{Key: "c", Value: []byte("c")},
				store.Op{Key: "d", Value: []byte("d")},
				store.Op{Key: "d", Delete: true, Value: []byte("ignored")},
				store.Op{Key: "e", Value: []byte("e1")},
				store.Op{Key: "e", Value: []byte("e2")},
				store.Op{Key: "never", Delete: true})
			wantScan(t, s, "", kv{"b", "new-b"}, kv{"c", "c"}, kv{"e", "e2"})
		}},
		{"empty batch is a no-op", func(t *testing.T, s store.Store) {
			mustBatch(t, s)
			if err := s.Batch(nil); err != nil {
				t.Fatalf("Batch(nil) = %v", err)
			}
			wantScan(t, s, "")
		}},
		{"batch with an invalid op writes nothing", testBatchAtomic},
	}
}

func testBatchAtomic(t *testing.T, s store.Store) {
	bad := []struct {
		name string
		op   store.Op
	}{
		{"empty key", store.Op{Key: "", Value: []byte("v")}},
		{"empty key delete", store.Op{Key: "", Delete: true}},
		{"key too long", store.Op{Key: strings.Repeat("k", store.MaxKeyLen+1), Value: []byte("v")}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			mustPut(t, s, "keep", "v")
			err := s.Batch([]store.Op{
				{Key: "new", Value: []byte("n")},
				{Key: "keep", Delete: true},
				b.op,
				{Key: "after", Value: []byte("a")},
			})
			if !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("Batch with %s = %v, want an error wrapping ErrInvalidKey", b.name, err)
			}
			wantScan(t, s, "", kv{"keep", "v"})
		})
	}
}

func scanCases() []testCase {
	return []testCase{
		{"scan by prefix in key order", testScanPrefix},
		{"scan stops at fn's error", func(t *testing.T, s store.Store) {
			for _, k := range []string{"s/1", "s/2", "s/3", "s/4"} {
				mustPut(t, s, k, k)
			}
			stop := errors.New("stop here")
			var seen []string
			err := s.Scan("s/", func(k string, _ []byte) error {
				seen = append(seen, k)
				if len(seen) == 2 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) {
				t.Fatalf("Scan = %v, want fn's error %v", err, stop)
			}
			if strings.Join(seen, ",") != "s/1,s/2" {
				t.Fatalf("Scan visited %q after fn's error, want [s/1 s/2]", seen)
			}
		}},
		{"scan callback may write to the store", testScanWrites},
	}
}

func testScanPrefix(t *testing.T, s store.Store) {
	for _, k := range []string{"q", "p/é", "p/b", "p0", "p/a/1", "o", "p/", "pp", "p/B", "p/a", "p"} {
		mustPut(t, s, k, "v"+k)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"p/", []string{"p/", "p/B", "p/a", "p/a/1", "p/b", "p/é"}},
		{"p/a", []string{"p/a", "p/a/1"}},
		{"p", []string{"p", "p/", "p/B", "p/a", "p/a/1", "p/b", "p/é", "p0", "pp"}},
		{"", []string{"o", "p", "p/", "p/B", "p/a", "p/a/1", "p/b", "p/é", "p0", "pp", "q"}},
		{"p/c", nil},
		{"zz", nil},
	}
	for _, tc := range tests {
		t.Run("prefix="+tc.prefix, func(t *testing.T) {
			want := make([]kv, len(tc.want))
			for i, k := range tc.want {
				want[i] = kv{k, "v" + k}
			}
			wantScan(t, s, tc.prefix, want...)
		})
	}
}

// testScanWrites checks a callback that writes to the store neither
// deadlocks nor breaks the scan. It is bounded: a hang fails after 30s.
func testScanWrites(t *testing.T, s store.Store) {
	for _, k := range []string{"w/1", "w/2", "w/3"} {
		mustPut(t, s, k, k)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Scan("w/", func(k string, v []byte) error {
			if err := s.Put("copy/"+k, v); err != nil {
				return err
			}
			return s.Delete(k)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Scan with writing callback: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Scan with a callback that writes did not return in 30s (deadlock?)")
	}
	wantScan(t, s, "w/")
	wantScan(t, s, "copy/", kv{"copy/w/1", "w/1"}, kv{"copy/w/2", "w/2"}, kv{"copy/w/3", "w/3"})
}
