package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// The end-to-end tests run real processes: the mcpmesh binary and the
// go-sdk's conformance everything-server, both built once per test run into
// ./tmp (git-ignored).

const (
	everythingPkg = "github.com/modelcontextprotocol/go-sdk/conformance/everything-server"
	stopTimeout   = 15 * time.Second
	maxLogBytes   = 4 << 20
)

type binaries struct{ mcpmesh, everything string }

var (
	buildOnce sync.Once
	built     binaries
	errBuild  error
)

// buildBinaries builds mcpmesh and the everything-server once per test binary.
func buildBinaries(t testing.TB) binaries {
	t.Helper()
	buildOnce.Do(func() { built, errBuild = doBuild() })
	if errBuild != nil {
		t.Fatalf("build e2e binaries: %v", errBuild)
	}
	return built
}

func doBuild() (binaries, error) {
	dir, err := filepath.Abs("tmp")
	if err != nil {
		return binaries{}, fmt.Errorf("tmp dir: %w", err)
	}
	b := binaries{mcpmesh: filepath.Join(dir, "mcpmesh"), everything: filepath.Join(dir, "everything")}
	for _, args := range [][]string{
		{"build", "-o", b.mcpmesh, "."},
		{"build", "-o", b.everything, everythingPkg},
	} {
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			return b, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return b, nil
}

// proc is one child process, stopped with SIGTERM (SIGKILL after
// stopTimeout) when its test ends; its output goes to the test log if the
// test failed.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testlog.Buffer
	done chan struct{}
	err  error // the exit status, once done is closed

	stopOnce sync.Once
	killed   bool
}

// startProc starts bin with args and a clean environment (no mcpmesh
// variables leak in from the developer's shell).
func startProc(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, nil, bin, args...)
}

// startProcEnv is startProc with env (KEY=value) added to the clean
// environment.
func startProcEnv(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &testlog.Buffer{Max: maxLogBytes}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if p.killed {
			t.Errorf("%s did not exit within %v of SIGTERM and was killed", name, stopTimeout)
		}
		if t.Failed() {
			t.Logf("---- output of %s (%s) ----\n%s", name, p.exitText(), p.out.String())
		}
	})
	return p
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "MCPMESH_"), k == "PORT", k == "JWT_SECRET", k == "JOIN", k == "REDIS_URL":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// stop sends SIGTERM and waits; after stopTimeout it kills the process.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.killed = true
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// stopClean stops the process and fails the test unless it exited with
// status 0 after SIGTERM (a kill after stopTimeout is reported by cleanup).
func (p *proc) stopClean(t testing.TB) {
	t.Helper()
	p.stop()
	if !p.killed && p.err != nil {
		t.Errorf("%s exited after SIGTERM with %v, want status 0", p.name, p.err)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitText() string {
	if !p.exited() {
		return "running"
	}
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEverythingHTTP runs the everything-server as a stateful Streamable
// HTTP server on a free loopback port and returns its MCP URL.
func startEverythingHTTP(t testing.TB) string {
	t.Helper()
	_, url := startEverythingHTTPProc(t)
	return url
}

// startEverythingHTTPProc is startEverythingHTTP that also returns the
// server's process.
func startEverythingHTTPProc(t testing.TB) (*proc, string) {
	t.Helper()
	return startEverythingHTTPMode(t, false)
}

// startEverythingHTTPMode starts the everything-server over Streamable HTTP on
// a free loopback port, stateless (a request is a session of its own: it
// serves 2026-07-28, and makes no server requests) or not, and returns it
// with its endpoint; it is stopped when the test ends.
func startEverythingHTTPMode(t testing.TB, stateless bool) (*proc, string) {
	t.Helper()
	bin := buildBinaries(t).everything
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		p := startProc(t, "everything-server "+addr, bin, "-http", addr, "-stateless="+strconv.FormatBool(stateless))
		wait.For(t, 20*time.Second, func() bool { return p.exited() || dialable(addr) },
			"everything-server on %s to take connections (%s):\n%s", addr, wait.Later(func() any { return p.exitText() }), p.out)
		if !p.exited() {
			return p, "http://" + addr + "/mcp"
		}
		if attempt == 2 {
			t.Fatalf("everything-server on %s did not start (%s):\n%s", addr, p.exitText(), p.out.String())
		}
	}
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
