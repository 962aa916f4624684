package badgerstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

const (
	crashDirEnv = "MCPMESH_BADGERSTORE_CRASH_DIR"
	crashAcks   = 300     // acknowledgements the parent reads before SIGKILL
	crashMax    = 100_000 // the child stops by itself after this many writes
)

// crashValue is what the child writes under key i; sizes vary with i.
func crashValue(i int) string {
	return fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%200))
}

// TestCrashChild is the child half of TestAcknowledgedWritesSurviveKill9:
// run with crashDirEnv set, it writes keys in a loop and prints "ack N" once
// write N has returned. Without the variable it does nothing.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("child open: %v", err)
	}
	for i := range crashMax {
		if err := crashWrite(s, i); err != nil {
			t.Fatalf("child write %d: %v", i, err)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
	}
}

// crashWrite writes entry i: a Put, or every tenth time a Batch of two keys.
func crashWrite(s *Store, i int) error {
	key := fmt.Sprintf("crash/%06d", i)
	if i%10 != 0 {
		return s.Put(key, []byte(crashValue(i)))
	}
	return s.Batch([]store.Op{
		{Key: key, Value: []byte(crashValue(i))},
		{Key: key + "/pair", Value: []byte(crashValue(i))},
	})
}

func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	acked := readAcks(t, bufio.NewScanner(out), cmd)
	if acked < crashAcks {
		t.Fatalf("child acknowledged only %d writes, want at least %d", acked, crashAcks)
	}
	s := openT(t, dir, Options{})
	for i := range acked {
		checkCrashKey(t, s, i)
	}
	t.Logf("%d acknowledged writes all present after SIGKILL", acked)
}

// readAcks reads crashAcks acknowledgements, kills the child with SIGKILL,
// then reads the acknowledgements it printed before dying. It returns how
// many consecutive writes, from 0, were acknowledged.
func readAcks(t *testing.T, sc *bufio.Scanner, cmd *exec.Cmd) int {
	t.Helper()
	n := 0
	for n < crashAcks && sc.Scan() {
		n += ack(t, sc.Text(), n)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	for sc.Scan() {
		n += ack(t, sc.Text(), n)
	}
	err := cmd.Wait()
	if n < crashAcks || err == nil {
		t.Fatalf("child ended with %v after %d acks; want it killed after %d", err, n, crashAcks)
	}
	return n
}

// ack checks that line acknowledges write want and returns 1, or returns 0
// for lines that are not acknowledgements (the test framework's own).
func ack(t *testing.T, line string, want int) int {
	t.Helper()
	num, ok := strings.CutPrefix(line, "ack ")
	if !ok {
		return 0
	}
	if got, err := strconv.Atoi(num); err != nil || got != want {
		t.Fatalf("child printed %q, want ack %d", line, want)
	}
	return 1
}

func checkCrashKey(t *testing.T, s *Store, i int) {
	t.Helper()
	key := fmt.Sprintf("crash/%06d", i)
	keys := []string{key}
	if i%10 == 0 {
		keys = append(keys, key+"/pair")
	}
	for _, k := range keys {
		got, err := s.Get(k)
		if err != nil || string(got) != crashValue(i) {
			t.Fatalf("after SIGKILL, acknowledged %q = %q, %v; want %q", k, got, err, crashValue(i))
		}
	}
}
