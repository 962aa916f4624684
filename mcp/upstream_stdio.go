package mcp

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// upProc runs a stdio server for one connection attempt; it is that
// attempt's transport. Like the SDK's CommandTransport it speaks
// newline-delimited JSON on the child's stdin and stdout (through the SDK's
// IOTransport) and shuts the child down by closing stdin, then SIGTERM,
// then SIGKILL. Unlike it, it reaps the child as soon as it exits (so how it
// ended is known) and passes stdout through a tap (see upOrder).
type upProc struct {
	cmd    *exec.Cmd
	stderr *upStderr
	tap    *upTap

	stdin  *os.File // our end of the child's stdin
	stdout *os.File // our end of the child's stdout
	exited chan struct{}
	exit   string // how it ended; written before exited is closed
}

var _ sdk.Transport = (*upProc)(nil)

// Connect starts the child.
func (p *upProc) Connect(ctx context.Context) (sdk.Connection, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		_, _ = inR.Close(), inW.Close()
		return nil, err
	}
	p.cmd.Stdin, p.cmd.Stdout = inR, outW
	err = p.cmd.Start()
	_, _ = inR.Close(), outW.Close() // the child has its own copies
	if err != nil {
		_, _ = inW.Close(), outR.Close()
		return nil, err
	}
	p.stdin, p.stdout, p.exited = inW, outR, make(chan struct{})
	go p.reap()
	return (&sdk.IOTransport{Reader: upProcReader{p}, Writer: upProcWriter{p}}).Connect(ctx)
}

// reap waits for the child; it ends when the child does.
func (p *upProc) reap() {
	err := p.cmd.Wait()
	if st := p.cmd.ProcessState; st != nil {
		p.exit = st.String()
	} else if err != nil {
		p.exit = err.Error()
	}
	close(p.exited)
}

// pid is the child's process id, 0 before it started.
func (p *upProc) pid() int {
	if p == nil || p.exited == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// shutdown closes stdin and waits for the child, escalating to SIGTERM and
// SIGKILL after upTerminate each.
func (p *upProc) shutdown() error {
	defer p.stdout.Close()
	_ = p.stdin.Close()
	if p.waitExit() {
		return nil
	}
	if p.cmd.Process.Signal(syscall.SIGTERM) == nil && p.waitExit() {
		return nil
	}
	_ = p.cmd.Process.Kill()
	if p.waitExit() {
		return nil
	}
	return errors.New("the server process did not exit after SIGKILL")
}

func (p *upProc) waitExit() bool {
	t := time.NewTimer(upTerminate)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// ended describes how the attempt's child ended, for error messages.
func (p *upProc) ended() string {
	if p == nil {
		return ""
	}
	var parts []string
	if p.exited != nil {
		select {
		case <-p.exited:
			parts = append(parts, "process "+p.exit)
		default:
		}
	}
	if line := p.stderr.last(); line != "" {
		parts = append(parts, "last stderr line: "+line)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// upProcReader is the child's stdout, through the tap. Closing it does
// nothing: the connection is closed by closing stdin (see shutdown).
type upProcReader struct{ p *upProc }

func (r upProcReader) Read(b []byte) (int, error) {
	n, err := r.p.stdout.Read(b)
	r.p.tap.feed(b[:n])
	return n, err
}

func (r upProcReader) Close() error { return nil }

// upProcWriter is the child's stdin; closing it shuts the child down.
type upProcWriter struct{ p *upProc }

func (w upProcWriter) Write(b []byte) (int, error) { return w.p.stdin.Write(b) }

func (w upProcWriter) Close() error { return w.p.shutdown() }

var _ io.ReadCloser = upProcReader{}
