package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

var listenLine = regexp.MustCompile(`msg="mcpmesh listening".* addr=(127\.0\.0\.1:\d+)`)

// serve runs in-process on a free port, becomes ready, and on cancel shuts
// down cleanly: it returns nil and leaves the store closed (reopenable).
func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseServe([]string{"--dev", "--demo", "--name", "n1", "--http", "127.0.0.1:0", "--data-dir", dir},
		mapEnv(nil), fixedHost("h"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logs) }()
	addr := waitListening(t, logs, done)
	waitReadyAt(t, "http://"+addr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatalf("store not released after shutdown: %v\n%s", err, logs.String())
	}
	_ = st.Close()
}

func waitListening(t *testing.T, logs *testlog.Buffer, done chan error) string {
	t.Helper()
	var m []string
	wait.For(t, 15*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\n%s", err, logs.String())
		default:
		}
		m = listenLine.FindStringSubmatch(logs.String())
		return m != nil
	}, "a listening line in the log:\n%s", logs)
	return m[1]
}

func waitReadyAt(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	wait.For(t, 15*time.Second, func() bool {
		resp, err := c.Get(base + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "%s to answer /ready with 200", base)
}

func TestServeRefusesBadConfigFile(t *testing.T) {
	cfg, err := parseServe([]string{"--dev", "--name", "n1", "--http", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--config", "/nonexistent/servers.json"}, mapEnv(nil), fixedHost("h"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := serve(context.Background(), cfg, io.Discard); err == nil || !regexp.MustCompile(`--config`).MatchString(err.Error()) {
		t.Fatalf("serve with a missing --config file: %v, want an error naming --config", err)
	}
}
