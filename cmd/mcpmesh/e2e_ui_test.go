package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestUIBrowser drives the dashboard of a real two-node ring in headless
// Chromium: sign in through the URL fragment and through the box, the
// ring's members, the peer and its federated tools, the calls, a trust
// change made on the page reaching the other node, and a node killed with
// SIGKILL turning dead on the page without a reload. No console errors.
func TestUIBrowser(t *testing.T) {
	a, b := startPair(t)
	for range 5 { // something for the Calls view
		ringCall(t, a, "b__whoami", map[string]any{})
		ringCall(t, a, "echo", map[string]any{"text": "hi"})
	}
	br := startBrowser(t)
	br.viewport(1280, 800, "light")
	t.Run("fragment login", func(t *testing.T) { uiFragmentLogin(t, br.at(t), a) })
	t.Run("views", func(t *testing.T) { uiViews(t, br.at(t), b) })
	t.Run("phone", func(t *testing.T) { uiPhone(t, br.at(t)) })
	t.Run("login box", func(t *testing.T) { uiLoginBox(t, br.at(t), a) })
	t.Run("peer errors", func(t *testing.T) { uiPeerErrors(t, br.at(t)) })
	t.Run("trust", func(t *testing.T) { uiTrust(t, br.at(t), b) })
	t.Run("kill", func(t *testing.T) { uiKill(t, br.at(t), a, b) })
	t.Run("remove", func(t *testing.T) { uiRemove(t, br.at(t), a) })
	if errs := br.consoleErrors(); len(errs) > 0 {
		t.Errorf("the page wrote %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// member is the ring drawing's node of a member in a state.
func member(name, state string) string {
	return fmt.Sprintf(`#ring-svg .member[data-name=%q][data-state=%q]`, name, state)
}

// uiLink runs `mcpmesh ui` for n and returns the URL it printed.
func uiLink(t *testing.T, n *node) string {
	t.Helper()
	cmd := exec.Command(buildBinaries(t).mcpmesh, "ui", "--gateway", n.url, "--secret", testSecret, "--exp", "10m")
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mcpmesh ui: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func uiFragmentLogin(t *testing.T, br *browser, a *node) {
	link := uiLink(t, a)
	token := link[strings.Index(link, "#token=")+len("#token="):]
	br.do(chromedp.Navigate(link))
	br.waitFor(member("ra", "alive"), "this node alive on the ring")
	br.waitFor(member("rb", "alive"), "the other member alive on the ring")
	var href, kept string
	br.eval("location.href", &href)
	br.eval(`sessionStorage.getItem("mcpmesh.token")`, &kept)
	if strings.Contains(href, "token") || strings.Contains(href, token) {
		t.Errorf("the address bar still shows the token: %s", href)
	}
	if kept != token {
		t.Errorf("sessionStorage holds %q, want the token from the fragment", kept)
	}
	br.waitFor(`#ring-svg .member[data-name="rb"] .trust-badge.full`, "rb marked as a full-trust peer")
	br.screenshot("ring-desktop-light")
	br.viewport(1280, 800, "dark")
	br.screenshot("ring-desktop-dark")
	br.viewport(1280, 800, "light")
}

// showView clicks a tab and waits for what the view must show.
func showView(br *browser, view, selector, what string) {
	br.t.Helper()
	br.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tabs a[data-view=%q]`, view))))
	br.waitFor(fmt.Sprintf("#view-%s:not([hidden]) %s", view, selector), what)
}

func uiViews(t *testing.T, br *browser, b *node) {
	showView(br, "peers", `#peers-table tr[data-peer="b"][data-status="online"][data-trust="full"]`, "peer b online at full trust")
	rule := `{"name":"everyone","effect":"allow","principals":["*"],"tools":["*"],"rate":"100/s"}`
	if r := b.do(t, http.MethodPost, "/api/policy/rules", []byte(rule), nil); r.status != http.StatusCreated {
		t.Fatalf("POST a rule on rb: %d %s", r.status, r.body)
	}
	br.waitFor(`#rules-table tr[data-rule="everyone"]`, "the rule written on the other node")
	if got := br.text(`#peers-table tr[data-peer="b"] td.num`); got != "4" {
		t.Errorf("peer b's tool count shows %q, want 4", got)
	}
	br.screenshot("peers-desktop")
	showView(br, "tools", `.tool[data-tool="b__whoami"]`, "b's federated tool b__whoami")
	br.typeInto("tool-search", "whoami")
	wait.For(t, uiTimeout, func() bool {
		var n int
		br.eval(`document.querySelectorAll("#tools-list .tool").length`, &n)
		return n == 2
	}, "waiting for the search to leave whoami and b__whoami")
	br.click(`.tool[data-tool="b__whoami"] button`, "b__whoami")
	br.waitFor(`.tool[data-tool="b__whoami"] pre.schema`, "b__whoami's schema")
	if s := br.text(`.tool[data-tool="b__whoami"] pre.schema`); !strings.Contains(s, `"type"`) {
		t.Errorf("b__whoami's schema shows %q, want its inputSchema", s)
	}
	br.screenshot("tools-desktop")
	showView(br, "calls", `#calls-table tr[data-source="b"]`, "calls to peer b")
	br.waitFor(`#calls-chart polyline[points*=","]`, "a line of calls per second")
	if txt := br.text("#calls-chart") + br.text("#latency-chart"); txt != "" {
		t.Errorf("the charts hold text %q, want only drawing", txt)
	}
	br.screenshot("calls-desktop")
}

func uiPhone(t *testing.T, br *browser) {
	br.viewport(390, 844, "light")
	defer br.viewport(1280, 800, "light")
	for _, v := range []struct{ view, selector string }{
		{"ring", member("rb", "alive")},
		{"peers", `#peers-table tr[data-peer="b"]`},
		{"tools", `.tool[data-tool="b__whoami"]`},
		{"calls", `#calls-table tr[data-source="b"]`},
	} {
		showView(br, v.view, v.selector, v.view+" on a phone")
		var overflow []string
		br.eval(`[document.documentElement, ...document.querySelectorAll(".view:not([hidden]) .scroll")]
			.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.id + e.className + ": " + e.scrollWidth + " > " + e.clientWidth)`, &overflow)
		if len(overflow) > 0 {
			t.Errorf("the %s view is wider than a 390 px phone screen: %v", v.view, overflow)
		}
		br.screenshot(v.view + "-phone-light")
	}
	showView(br, "ring", member("rb", "alive"), "the ring on a phone")
	br.viewport(390, 844, "dark")
	br.screenshot("ring-phone-dark")
}

func uiLoginBox(t *testing.T, br *browser, a *node) {
	br.do(chromedp.Click(chromedp.ID("logout")))
	br.waitFor(`#login:not([hidden])`, "the login box after signing out")
	br.screenshot("login-desktop")
	br.expectConsoleError("401") // the refused token below, on purpose
	br.typeInto("login-token", "not-a-token\r")
	wait.For(t, uiTimeout, func() bool { return strings.Contains(br.text("#login-error"), "malformed") },
		"waiting for the box to show the server's refusal (%s)", wait.Later(func() any { return br.text("#login-error") }))
	br.screenshot("login-refused-desktop")
	br.typeInto("login-token", a.token+"\r")
	br.waitFor(member("rb", "alive"), "the ring after signing in through the box")
}

// uiPeerErrors adds peers the node refuses from the page: the node's own
// message is shown with its status, and nothing is added.
func uiPeerErrors(t *testing.T, br *browser) {
	showView(br, "peers", `#peers-table tr[data-peer="b"]`, "peer b")
	br.expectConsoleError("400") // the refusals below, on purpose
	br.expectConsoleError("502")
	for _, tc := range []struct{ url, want string }{
		{"not-a-url", `400: url "not-a-url" must be an absolute http or https URL`},
		{"http://127.0.0.1:1", "502: cannot reach http://127.0.0.1:1"},
	} {
		br.typeInto("peer-url", tc.url+"\r")
		wait.For(t, uiTimeout, func() bool { return strings.HasPrefix(br.text("#peer-error"), tc.want) },
			"waiting for the page to show %q (%s)", tc.want, wait.Later(func() any { return br.text("#peer-error") }))
	}
	var rows int
	br.eval(`document.querySelectorAll("#peers-table tr[data-peer]").length`, &rows)
	if rows != 1 {
		t.Errorf("the page lists %d peers after two refused adds, want 1", rows)
	}
	br.screenshot("peers-error-desktop")
}

func uiTrust(t *testing.T, br *browser, b *node) {
	showView(br, "peers", `#peers-table tr[data-peer="b"] select.trust`, "peer b's trust")
	var ok bool
	br.eval(`(() => { const s = document.querySelector('#peers-table tr[data-peer="b"] select.trust');
		s.value = "discover"; s.dispatchEvent(new Event("change")); return true })()`, &ok)
	wait.For(t, ringTimeout, func() bool {
		var p api.Peer
		r := b.do(t, http.MethodGet, "/api/federation/peers/b", nil, nil)
		return r.status == http.StatusOK && json.Unmarshal(r.body, &p) == nil && p.TrustLevel == "discover"
	}, "waiting for the other node (REST) to hold peer b at discover")
	br.waitFor(`#peers-table tr[data-peer="b"][data-trust="discover"]`, "peer b at discover on the page")
	if e := br.text("#peer-error"); e != "" {
		t.Errorf("the page shows an error after the trust change: %q", e)
	}
}

func uiKill(t *testing.T, br *browser, a, b *node) {
	showView(br, "ring", member("rb", "alive"), "rb alive before the kill")
	var ok bool
	br.eval(`(() => { window.__shift = 0; new PerformanceObserver((l) => { for (const e of l.getEntries())
		if (!e.hadRecentInput) window.__shift += e.value }).observe({ type: "layout-shift" }); return true })()`, &ok)
	if err := b.proc.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 rb: %v", err)
	}
	killed := time.Now()
	ringDead := watchMemberDead(a, "rb", killed)
	var suspect time.Duration
	wait.For(t, ringTimeout+uiTimeout, func() bool {
		if suspect == 0 && br.has(member("rb", "suspect")) {
			suspect = time.Since(killed)
		}
		return br.has(member("rb", "dead"))
	}, "waiting for rb to turn dead on the page after kill -9")
	screen := time.Since(killed)
	ring := <-ringDead
	t.Logf("kill -9 rb → dead on the page after %v (suspect shown after %v; ra's REST said dead after %v: ring to screen %v)",
		screen.Round(time.Millisecond), suspect.Round(time.Millisecond), ring.Round(time.Millisecond), (screen - ring).Round(time.Millisecond))
	br.screenshot("ring-desktop-dead")
	var shift float64
	br.eval(`window.__shift`, &shift)
	t.Logf("layout shift while rb went suspect then dead: %.4f", shift)
	if shift > 0.001 {
		t.Errorf("the page moved as events streamed in: cumulative layout shift %.4f, want none", shift)
	}
}

// uiRemove removes peer b from the page (Remove, then Confirm) and sees it
// gone from the page and from the node (REST).
func uiRemove(t *testing.T, br *browser, a *node) {
	showView(br, "peers", `#peers-table tr[data-peer="b"] button[data-action="remove"]`, "peer b's Remove button")
	br.click(`#peers-table tr[data-peer="b"] button[data-action="remove"]`, "Remove")
	br.waitFor(`#peers-table tr[data-peer="b"] button.confirm`, "the Confirm button")
	if len(ringPeers(t, a)) != 1 {
		t.Fatal("the first click removed the peer: it must ask for confirmation")
	}
	br.click(`#peers-table tr[data-peer="b"] button.confirm`, "Confirm")
	br.waitFor(`#peers-table tr.empty`, "no peers left on the page")
	if ps := ringPeers(t, a); len(ps) != 0 {
		t.Fatalf("the node still has %d peers after Remove, Confirm", len(ps))
	}
}

// watchMemberDead polls n's members (REST) from start on and sends how
// long it took until name was dead (0: not within the bound).
func watchMemberDead(n *node, name string, start time.Time) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < ringTimeout+uiTimeout {
			if memberState(restMembers(n), name) == "dead" {
				out <- time.Since(start)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		out <- 0
	}()
	return out
}

// restMembers is n's GET /api/federation/members, nil on any failure (it
// runs outside the test's goroutine, so it cannot fail the test).
func restMembers(n *node) []api.Member {
	req, _ := http.NewRequest(http.MethodGet, n.url+"/api/federation/members", nil)
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var ms []api.Member
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ms) != nil {
		return nil
	}
	return ms
}

func memberState(ms []api.Member, name string) string {
	for _, m := range ms {
		if m.Name == name {
			return m.Status
		}
	}
	return ""
}
