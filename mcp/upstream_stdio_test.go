package mcp_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

const upSamplingCaps = `{"sampling":{},"elicitation":{"form":{}}}`

func upEverythingConfig(t *testing.T) mcp.ServerConfig {
	return mcp.ServerConfig{Name: "everything", Command: upEverything(t)}
}

func TestUpstreamStdioListsEverything(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	st := u.Status()
	if st.State != mcp.UpstreamReady || st.Transport != "stdio" || st.ProtocolVersion != "2025-11-25" || st.PID <= 0 {
		t.Errorf("status = %+v, want ready over stdio with 2025-11-25 and a pid", st)
	}
	defs := u.Snapshot()
	if st.Tools != len(defs.Tools) || st.Tools < 20 {
		t.Errorf("status counts %d tools, snapshot has %d (want at least 20)", st.Tools, len(defs.Tools))
	}
	checks := []struct {
		what, field, want string
		defs              []json.RawMessage
	}{
		{"tool", "name", "test_simple_text", defs.Tools},
		{"tool", "name", "json_schema_2020_12_tool", defs.Tools},
		{"prompt", "name", "test_prompt_with_arguments", defs.Prompts},
		{"resource", "uri", "test://static-text", defs.Resources},
		{"template", "uriTemplate", "test://template/{id}/data", defs.ResourceTemplates},
	}
	for _, c := range checks {
		t.Run(c.what+" "+c.want, func(t *testing.T) {
			if !slices.Contains(upNames(t, c.defs, c.field), c.want) {
				t.Errorf("%s %q not listed", c.what, c.want)
			}
		})
	}
	for _, def := range defs.Tools {
		if !strings.Contains(string(def), `"inputSchema"`) {
			t.Errorf("tool without inputSchema: %s", def)
		}
	}
}

func TestUpstreamStdioCalls(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	peer := newUpFakePeer("s1", `{}`, "")
	cases := []struct {
		name, method, params string
		want                 string // substring of the result
		wantIsError          bool
		wantCode             int // a JSON-RPC error instead of a result
	}{
		{"simple text", "tools/call", `{"name":"test_simple_text","arguments":{}}`, "This is a simple text response for testing.", false, 0},
		{"no arguments", "tools/call", `{"name":"test_simple_text"}`, "simple text response", false, 0},
		{"tool error is isError", "tools/call", `{"name":"test_error_handling","arguments":{}}`, "intentionally returns an error", true, 0},
		{"arguments", "tools/call", `{"name":"json_schema_2020_12_tool","arguments":{"name":"n","email":"e@x"}}`, `\"email\":\"e@x\"`, false, 0},
		{"image content", "tools/call", `{"name":"test_image_content","arguments":{}}`, `"mimeType":"image/png"`, false, 0},
		{"unknown tool", "tools/call", `{"name":"no_such_tool","arguments":{}}`, "", false, mcp.CodeInvalidParams},
		{"prompt with arguments", "prompts/get", `{"name":"test_prompt_with_arguments","arguments":{"arg1":"a","arg2":"b"}}`, "arg1='a', arg2='b'", false, 0},
		{"unknown prompt", "prompts/get", `{"name":"no_such_prompt"}`, "", false, mcp.CodeInvalidParams},
		{"read resource", "resources/read", `{"uri":"test://static-text"}`, "content of the static text resource", false, 0},
		{"read template", "resources/read", `{"uri":"test://template/42/data"}`, "Data for ID: 42", false, 0},
		// The go-sdk (since 1.7) answers -32602 with the URI as data: passed through as is.
		{"unknown resource", "resources/read", `{"uri":"test://nope"}`, `{"uri":"test://nope"}`, false, mcp.CodeInvalidParams},
		{"completion", "completion/complete", `{"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"x"}}`, `"completion"`, false, 0},
		{"unsupported method", "tools/list", `{}`, "", false, mcp.CodeMethodNotFound},
		{"params not an object", "tools/call", `[1]`, "", false, mcp.CodeInvalidParams},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := upCall(t, u, peer, c.method, c.params)
			if c.wantCode != 0 {
				var e *mcp.Error
				if !errors.As(err, &e) || e.Code != c.wantCode {
					t.Fatalf("got %s, %v; want JSON-RPC error %d", raw, err, c.wantCode)
				}
				if data, _ := json.Marshal(e.Data); !strings.Contains(string(data), c.want) {
					t.Errorf("error data %s, want %s", data, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if !strings.Contains(string(raw), c.want) {
				t.Errorf("result %s does not contain %q", raw, c.want)
			}
			if c.method == "tools/call" {
				if _, isErr := upToolText(t, raw); isErr != c.wantIsError {
					t.Errorf("isError = %v, want %v: %s", isErr, c.wantIsError, raw)
				}
			}
		})
	}
}

func TestUpstreamProgressRelayedWithCallersToken(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	for _, token := range []string{`"tok-1"`, `7`} {
		t.Run(token, func(t *testing.T) {
			peer := newUpFakePeer("s-"+token, `{}`, "")
			raw, err := upCall(t, u, peer, "tools/call",
				`{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":`+token+`}}`)
			if err != nil {
				t.Fatal(err)
			}
			// The server answers with the token it saw: ours, not the caller's.
			if text, _ := upToolText(t, raw); !strings.HasPrefix(text, "mcpmesh-") {
				t.Errorf("upstream saw token %q, want one made by mcpmesh", text)
			}
			notes := peer.notifications("notifications/progress")
			if len(notes) != 3 {
				t.Fatalf("got %d progress notifications before the result, want 3: %s", len(notes), notes)
			}
			last := -1.0
			for _, n := range notes {
				var p struct {
					ProgressToken json.RawMessage `json:"progressToken"`
					Progress      float64         `json:"progress"`
				}
				if err := json.Unmarshal(n, &p); err != nil || string(p.ProgressToken) != token || p.Progress < last {
					t.Errorf("progress %s: want token %s and increasing progress", n, token)
				}
				last = p.Progress
			}
		})
	}
}

func TestUpstreamRelaysServerRequests(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	answer := func(method string, _ json.RawMessage) (json.RawMessage, error) {
		switch method {
		case "elicitation/create":
			return json.RawMessage(`{"action":"accept","content":{"username":"octocat"}}`), nil
		case "roots/list":
			return json.RawMessage(`{"roots":[{"uri":"file:///work","name":"work"}]}`), nil
		}
		return json.RawMessage(`{"role":"assistant","content":{"type":"text","text":"hi from the fake client"},"model":"fake"}`), nil
	}
	cases := []struct {
		name, caps, params, wantMethod, want string
		wantIsError                          bool
	}{
		{"sampling", upSamplingCaps, `{"name":"test_sampling","arguments":{"prompt":"Say hi"}}`,
			"sampling/createMessage", "LLM response: hi from the fake client", false},
		{"elicitation", upSamplingCaps, `{"name":"test_elicitation","arguments":{"message":"Who are you?"}}`,
			"elicitation/create", "action=accept", false},
		{"sampling as a server-side round trip", upSamplingCaps, `{"name":"test_input_required_result_sampling","arguments":{}}`,
			"sampling/createMessage", "Sampling response: hi from the fake client", false},
		{"roots", `{"roots":{}}`, `{"name":"test_input_required_result_list_roots","arguments":{}}`,
			"roots/list", "Client exposed 1 root(s): file:///work", false},
		{"client without sampling", `{}`, `{"name":"test_sampling","arguments":{"prompt":"Say hi"}}`,
			"", "did not declare", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			peer := newUpFakePeer("s-"+c.name, c.caps, "")
			peer.answer = answer
			raw, err := upCall(t, u, peer, "tools/call", c.params)
			if err != nil {
				t.Fatal(err)
			}
			text, isErr := upToolText(t, raw)
			if !strings.Contains(text, c.want) || isErr != c.wantIsError {
				t.Errorf("result %s: want %q with isError %v", raw, c.want, c.wantIsError)
			}
			reqs := peer.requests()
			if c.wantMethod == "" && len(reqs) != 0 || c.wantMethod != "" && (len(reqs) != 1 || reqs[0].Method != c.wantMethod) {
				t.Errorf("peer got requests %+v, want one %q", reqs, c.wantMethod)
			}
		})
	}
}

func TestUpstreamLogMessagesFollowTheClientsLevel(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	cases := []struct {
		level string
		want  int // per call: the tool logs three info messages
	}{{"debug", 3}, {"info", 3}, {"warning", 0}, {"", 0}}
	for _, c := range cases {
		t.Run("level "+c.level, func(t *testing.T) {
			peer := newUpFakePeer("s-"+c.level, `{}`, c.level)
			for i := 1; i <= 3; i++ {
				if _, err := upCall(t, u, peer, "tools/call", `{"name":"test_tool_with_logging","arguments":{}}`); err != nil {
					t.Fatal(err)
				}
				// Each call's messages are relayed before it returns.
				if got := len(peer.notifications("notifications/message")); got != i*c.want {
					t.Fatalf("after call %d: %d log messages, want %d", i, got, i*c.want)
				}
			}
		})
	}
}

func TestUpstreamStdioRestartsAfterTheProcessDies(t *testing.T) {
	backoff := 1500 * time.Millisecond // long enough to see "restarting"
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{MinBackoff: backoff, MaxBackoff: backoff})
	before := u.Status()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, func() bool { return u.Status().State == mcp.UpstreamRestarting }, "waiting for the upstream to be restarting; status %+v", wait.Later(func() any { return u.Status() }))
	st := u.Status()
	if !strings.Contains(st.Error, "signal: killed") || st.Tools != before.Tools {
		t.Errorf("while restarting: %+v; want the kill in the error and the tools still listed", st)
	}
	raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"test_simple_text"}`)
	if text, isErr := upToolText(t, raw); err != nil || !isErr || !strings.Contains(text, `upstream "everything" is not connected`) {
		t.Errorf("call while restarting: %s, %v", raw, err)
	}
	wait.For(t, 20*time.Second, func() bool { return u.Status().State == mcp.UpstreamReady }, "waiting for the upstream to be ready again; status %+v", wait.Later(func() any { return u.Status() }))
	st = u.Status()
	if st.Restarts < 1 || st.PID == before.PID || st.PID == 0 || st.Tools != before.Tools || st.Error != "" {
		t.Errorf("after restart: %+v (before %+v)", st, before)
	}
	if raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"test_simple_text"}`); err != nil || !strings.Contains(string(raw), "simple text") {
		t.Errorf("call after restart: %s, %v", raw, err)
	}
}

func TestUpstreamStdioFailures(t *testing.T) {
	cases := []struct {
		name    string
		cfg     mcp.ServerConfig
		wantErr []string
	}{
		{"no such command", mcp.ServerConfig{Name: "bad", Command: "/nonexistent/mcp-server"}, []string{"no such file"}},
		{"exits at once", mcp.ServerConfig{Name: "bad", Command: "sh", Args: []string{"-c", "echo boom >&2; exit 3"}},
			[]string{"exit status 3", "last stderr line: boom"}},
		{"not MCP", mcp.ServerConfig{Name: "bad", Command: "sh", Args: []string{"-c", "echo hello"}}, []string{"connect"}},
		{"env reaches the process", mcp.ServerConfig{Name: "bad", Command: "sh", Args: []string{"-c", `echo "token=$UP_TEST_TOKEN" >&2; exit 1`},
			Env: map[string]string{"UP_TEST_TOKEN": "s3cret"}}, []string{"last stderr line: token=s3cret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := upStartNoWait(t, c.cfg, mcp.UpstreamOptions{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
			err := u.WaitReady(t.Context())
			for _, want := range c.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("WaitReady = %v, want it to mention %q", err, want)
				}
			}
			wait.For(t, 20*time.Second, func() bool { return u.Status().Restarts >= 2 }, "waiting for two restarts; status %+v", wait.Later(func() any { return u.Status() }))
			if st := u.Status(); st.State != mcp.UpstreamFailed || st.Error == "" || st.Tools != 0 {
				t.Errorf("status = %+v, want failed with an error", st)
			}
			raw, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"x"}`)
			if text, isErr := upToolText(t, raw); err != nil || !isErr || !strings.Contains(text, `upstream "bad" is not connected (state failed)`) || leaksDetail(text) {
				t.Errorf("tools/call = %s, %v; want an isError result naming the upstream", raw, err)
			}
			_, err = upCall(t, u, newUpFakePeer("s", `{}`, ""), "prompts/get", `{"name":"x"}`)
			var e *mcp.Error
			if !errors.As(err, &e) || e.Code != mcp.CodeInternalError || !strings.Contains(e.Message, `upstream "bad"`) || leaksDetail(e.Message) {
				t.Errorf("prompts/get error = %v, want an internal error naming the upstream", err)
			}
		})
	}
}

func TestUpstreamCloseStopsEverything(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{})
	pid := u.Status().PID
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if st := u.Status(); st.State != mcp.UpstreamStopped || st.PID != 0 {
		t.Errorf("after Close: %+v", st)
	}
	// The child was reaped: signalling its pid fails.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after Close: %v", pid, err)
	}
	if err := u.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestUpstreamNewerProtocol(t *testing.T) {
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{ProtocolVersion: "2026-07-28"})
	if v := u.Status().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("negotiated %q, want 2026-07-28 (server/discover)", v)
	}
	peer := newUpFakePeer("s", upSamplingCaps, "")
	peer.answer = func(string, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"role":"assistant","content":{"type":"text","text":"Paris"},"model":"fake"}`), nil
	}
	cases := []struct{ params, want string }{
		{`{"name":"test_simple_text"}`, "simple text response"},
		// In-band input requests are relayed to the caller of that very call.
		{`{"name":"test_input_required_result_sampling","arguments":{}}`, "Sampling response: Paris"},
	}
	for _, c := range cases {
		raw, err := upCall(t, u, peer, "tools/call", c.params)
		if text, isErr := upToolText(t, raw); err != nil || isErr || !strings.Contains(text, c.want) {
			t.Errorf("%s = %s, %v; want %q", c.params, raw, err, c.want)
		}
	}
}

func TestUpstreamServesThroughTheCatalog(t *testing.T) {
	cat := mcp.NewCatalog("n1", nil)
	u := upStart(t, upEverythingConfig(t), mcp.UpstreamOptions{OnChange: cat.Changed})
	if err := cat.Add("everything", "ev", u); err != nil {
		t.Fatal(err)
	}
	list, err := cat.List(t.Context(), mcp.KindTool, mcp.ListOptions{})
	if err != nil || !slices.ContainsFunc(list.Items, func(it mcp.Item) bool { return it.Key == "ev__test_simple_text" }) {
		t.Fatalf("catalog tools %v, %v; want ev__test_simple_text", list, err)
	}
	raw, err := cat.Call(t.Context(), &mcp.Request{Method: "tools/call",
		Params: json.RawMessage(`{"name":"ev__test_simple_text","arguments":{}}`), Client: newUpFakePeer("s", `{}`, "")})
	if text, isErr := upToolText(t, raw); err != nil || isErr || !strings.Contains(text, "simple text response") {
		t.Errorf("call through the catalog = %s, %v", raw, err)
	}
	// A list change upstream reaches the catalog.
	before := cat.Digest()
	if _, err := cat.Call(t.Context(), &mcp.Request{Method: "tools/call",
		Params: json.RawMessage(`{"name":"ev__test_trigger_tool_change"}`), Client: newUpFakePeer("s", `{}`, "")}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, func() bool {
		_, _, ok := cat.Lookup("ev____transient_tool_for_list_changed")
		return ok && cat.Digest() != before
	}, "waiting for the new tool in the catalog")
}
