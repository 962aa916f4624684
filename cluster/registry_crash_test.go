package cluster_test

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

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

const (
	regCrashEnv  = "MCPMESH_REGISTRY_CRASH_DIR"
	regCrashAcks = 200 // acknowledged registry writes before SIGKILL
)

// regCrashWrite is registry write i: an Add of peer p-i, and every fifth
// time also a SetTrust of the peer added just before.
func regCrashWrite(r *cluster.Registry, i int) error {
	_, err := r.Add(cluster.PeerRecord{Name: fmt.Sprintf("p-%d", i), Member: fmt.Sprintf("m-%d", i),
		URL: "http://127.0.0.1:1", TrustLevel: cluster.TrustFull})
	if err == nil && i%5 == 4 {
		_, err = r.SetTrust(fmt.Sprintf("p-%d", i-1), cluster.TrustDiscover)
	}
	return err
}

// TestRegistryCrashChild is the child half of
// TestRegistryWritesSurviveKill9: with regCrashEnv set it writes the
// registry in a loop and prints "ack N" once write N returned.
func TestRegistryCrashChild(t *testing.T) {
	dir := os.Getenv(regCrashEnv)
	if dir == "" {
		return
	}
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cluster.NewRegistry("crash-node", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100_000 {
		if err := regCrashWrite(r, i); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		fmt.Printf("ack %d\n", i)
	}
}

// TestRegistryWritesSurviveKill9: every registry write acknowledged before a
// SIGKILL is in the registry loaded from the store afterwards.
func TestRegistryWritesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRegistryCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), regCrashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := regReadAcks(t, bufio.NewScanner(out), cmd)
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r, err := cluster.NewRegistry("crash-node", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range acked {
		rec, ok := r.Get(fmt.Sprintf("p-%d", i))
		want := cluster.TrustFull
		if i%5 == 3 && i+1 < acked {
			want = cluster.TrustDiscover
		}
		if !ok || (rec.TrustLevel != want && !(i%5 == 3 && i+1 == acked)) {
			t.Fatalf("acknowledged write %d lost: record %+v (found %v), want trust %s", i, rec, ok, want)
		}
	}
	t.Logf("%d acknowledged registry writes all present after SIGKILL", acked)
}

func regReadAcks(t *testing.T, sc *bufio.Scanner, cmd *exec.Cmd) int {
	t.Helper()
	n := 0
	next := func() {
		if num, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			if got, err := strconv.Atoi(num); err != nil || got != n {
				t.Fatalf("child printed %q, want ack %d", sc.Text(), n)
			}
			n++
		}
	}
	for n < regCrashAcks && sc.Scan() {
		next()
	}
	_ = cmd.Process.Kill()
	for sc.Scan() {
		next()
	}
	if err := cmd.Wait(); n < regCrashAcks || err == nil {
		t.Fatalf("child ended with %v after %d acks; want it killed after %d", err, n, regCrashAcks)
	}
	return n
}
