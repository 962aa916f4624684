package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// maxDemoSleep caps the demo sleep tool.
const maxDemoSleep = 10 * time.Minute

// demo is the Source of the --demo tools: whoami, echo, add and sleep.
type demo struct {
	node  string
	tools []json.RawMessage
}

// NewDemo returns the demo tools of the node called node.
func NewDemo(node string) Source {
	return &demo{node: node, tools: []json.RawMessage{
		demoTool("whoami", "Returns the name of the node that ran it.", `{}`),
		demoTool("echo", "Returns its text argument unchanged.", `{"text":{"type":"string","description":"text to return"}}`),
		demoTool("add", "Returns the sum of a and b.", `{"a":{"type":"number"},"b":{"type":"number"}}`),
		demoTool("sleep", "Waits ms milliseconds (cancellable), reporting progress, then says how long it slept.",
			`{"ms":{"type":"integer","minimum":0,"description":"milliseconds to wait"}}`),
	}}
}

func demoTool(name, desc, props string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"name":%q,"description":%q,"inputSchema":{"type":"object","properties":%s}}`, name, desc, props))
}

func (d *demo) Snapshot() Definitions { return Definitions{Tools: d.tools} }

func (d *demo) Call(ctx context.Context, req *Request) (json.RawMessage, error) {
	if req.Method != "tools/call" {
		return nil, Errorf(CodeMethodNotFound, "method not found: %s", req.Method)
	}
	p := req.View()
	if !p.Object {
		return nil, Errorf(CodeInvalidParams, "invalid params: not an object")
	}
	args := p.Arguments
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	text, err := d.run(ctx, p.Name, args, req.Client, p.ProgressToken)
	if err != nil {
		return ToolError(err.Error()), nil
	}
	return ToolText(text), nil
}

func (d *demo) run(ctx context.Context, name string, args json.RawMessage, peer Client, token json.RawMessage) (string, error) {
	switch name {
	case "whoami":
		return d.node, nil
	case "echo":
		var a struct {
			Text string `json:"text"`
		}
		err := decodeArgs(args, &a)
		return a.Text, err
	case "add":
		var a struct{ A, B float64 }
		err := decodeArgs(args, &a)
		return strconv.FormatFloat(a.A+a.B, 'f', -1, 64), err
	case "sleep":
		return demoSleep(ctx, args, peer, token)
	}
	return "", fmt.Errorf("unknown demo tool %q", name)
}

func decodeArgs(args json.RawMessage, v any) error {
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("invalid arguments: %v", err)
	}
	return nil
}

// demoSleep waits, sending progress every 100 ms when the caller gave a token.
func demoSleep(ctx context.Context, args json.RawMessage, peer Client, token json.RawMessage) (string, error) {
	var a struct {
		MS int64 `json:"ms"`
	}
	if err := decodeArgs(args, &a); err != nil {
		return "", err
	}
	d := time.Duration(a.MS) * time.Millisecond
	if a.MS < 0 || d > maxDemoSleep {
		return "", fmt.Errorf("invalid arguments: ms must be between 0 and %d", maxDemoSleep.Milliseconds())
	}
	if err := sleepWithProgress(ctx, d, peer, token); err != nil {
		return "", err
	}
	return fmt.Sprintf("slept %d ms", a.MS), nil
}

func sleepWithProgress(ctx context.Context, d time.Duration, peer Client, token json.RawMessage) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sleep cancelled: %w", ctx.Err())
		case <-timer.C:
			return nil
		case <-tick.C:
			if token != nil {
				_ = peer.Notify(ctx, "notifications/progress", map[string]any{
					"progressToken": token, "progress": time.Since(start).Milliseconds(), "total": d.Milliseconds(),
				})
			}
		}
	}
}

// ToolText is a tools/call result holding one text content block.
func ToolText(text string) json.RawMessage {
	t, _ := json.Marshal(text)
	b := make([]byte, 0, len(t)+40)
	b = append(b, `{"content":[{"text":`...)
	return append(append(b, t...), `,"type":"text"}]}`...)
}

// ToolError is an isError tools/call result whose text says what failed.
func ToolError(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"content": []map[string]string{{"type": "text", "text": text}}, "isError": true})
	return b
}

// IsToolError reports whether a tools/call result has isError true.
func IsToolError(res json.RawMessage) bool {
	return string(field(res, "isError")) == "true"
}
