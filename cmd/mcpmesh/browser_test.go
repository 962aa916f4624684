package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// A headless Chromium (Debian's chromium, which .ci/run installs) driven
// with chromedp, for the dashboard's tests.

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// uiTimeout bounds every wait on the page.
const uiTimeout = 30 * time.Second

// browser is one tab of a headless Chromium that records the page's
// console errors and uncaught exceptions; its helpers fail t.
type browser struct {
	t testing.TB
	*tab
}

// tab is the browser's state, shared by the subtests (see at).
type tab struct {
	ctx context.Context

	mu     sync.Mutex
	errs   []string
	ignore []string // console errors containing one of these are expected
	shots  string   // where screenshots go
}

// startBrowser starts Chromium with a fresh profile in a temp dir; it is
// stopped when the test ends.
func startBrowser(t testing.TB) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the dashboard's tests need Debian's chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, tab: &tab{ctx: ctx, shots: screenshotDir(t)}}
	messages := chromedp.Console(ctx)
	go b.watchConsole(messages)
	b.do(chromedp.Navigate("about:blank")) // starts the browser
	return b
}

// screenshotDir is $UI_SCREENSHOTS when set (kept after the test), else
// a directory under the test's temp dir.
func screenshotDir(t testing.TB) string {
	if d := os.Getenv("UI_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("UI_SCREENSHOTS: %v", err)
		}
		return d
	}
	return t.TempDir()
}

// at is the same tab with helpers that fail t (a subtest).
func (b *browser) at(t testing.TB) *browser { return &browser{t: t, tab: b.tab} }

func (b *tab) watchConsole(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		b.mu.Lock()
		if !containsAny(m.Text, b.ignore) {
			b.errs = append(b.errs, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
		}
		b.mu.Unlock()
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// expectConsoleError lets console errors containing text pass (a refused
// request the test makes on purpose).
func (b *tab) expectConsoleError(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ignore = append(b.ignore, text)
}

// consoleErrors returns the console errors and exceptions seen so far.
func (b *tab) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// do runs actions, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into v.
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("browser: evaluate %s: %v (got %s)", expr, err, raw)
	}
}

// has reports whether the page has an element matching the CSS selector.
func (b *browser) has(selector string) bool {
	b.t.Helper()
	var ok bool
	b.eval(fmt.Sprintf("document.querySelector(%q) !== null", selector), &ok)
	return ok
}

// waitFor waits until the page has an element matching selector.
func (b *browser) waitFor(selector, what string) {
	b.t.Helper()
	wait.For(b.t, uiTimeout, func() bool { return b.has(selector) }, "waiting for the page to show %s (%s)", what, selector)
}

// typeInto focuses the element with id and types s as key presses.
func (b *browser) typeInto(id, s string) {
	b.t.Helper()
	var ok bool
	b.eval(fmt.Sprintf("(() => { const e = document.getElementById(%q); e.focus(); e.value = ''; return document.activeElement === e })()", id), &ok)
	if !ok {
		b.t.Fatalf("browser: #%s cannot take the focus", id)
	}
	b.do(chromedp.KeyEvent(s))
}

// click clicks the element matching selector as the page is now (a
// row redrawn by an event between finding and clicking is found again).
func (b *browser) click(selector, what string) {
	b.t.Helper()
	wait.For(b.t, uiTimeout, func() bool {
		var ok bool
		b.eval(fmt.Sprintf("(() => { const e = document.querySelector(%q); if (e) e.click(); return e !== null })()", selector), &ok)
		return ok
	}, "waiting to click %s (%s)", what, selector)
}

// text is the text of the first element matching selector ("" if none).
func (b *browser) text(selector string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", selector), &s)
	return s
}

// viewport sets the page's size and colour scheme (light or dark); phone
// sizes are emulated as a mobile device.
func (b *browser) viewport(width, height int64, scheme string) {
	b.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	b.do(chromedp.EmulateViewport(width, height, opts...))
	media := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, media); err != nil {
		b.t.Fatalf("browser: emulate %s: %v", scheme, err)
	}
}

// screenshot writes the page as a PNG named name and logs its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("write screenshot: %v", err)
	}
	b.t.Logf("screenshot %s: %s", name, path)
	return path
}
