package mcp

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestUpstreamTapCountsRelayedNotifications(t *testing.T) {
	const (
		logMsg   = `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}`
		progress = `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`
		response = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"notifications/message"}]}}`
		request  = `{"jsonrpc":"2.0","id":2,"method":"notifications/message","params":{}}`
		listed   = `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`
	)
	long := `{"jsonrpc":"2.0","id":3,"result":{"text":"` + strings.Repeat("a", upTapMax) + `"}}`
	cases := []struct {
		name string
		sse  bool
		in   string
		want int
	}{
		{"lines", false, logMsg + "\n" + response + "\n" + progress + "\n" + request + "\n" + listed + "\n", 2},
		{"CRLF lines", false, logMsg + "\r\n" + progress + "\r\n", 2},
		{"a line not yet ended", false, logMsg + "\n" + progress, 1},
		{"a long line skipped", false, long + "\n" + logMsg + "\n", 1},
		{"SSE events", true, "event: message\nid: 1_1\ndata: " + logMsg + "\n\nevent: message\r\ndata: " + response + "\r\n\r\ndata:" + progress + "\n\n", 2},
		{"SSE data over two lines", true, "data: {\"jsonrpc\":\"2.0\",\ndata: \"method\":\"notifications/message\",\"params\":{}}\n\n", 1},
		{"SSE event not yet ended", true, "data: " + logMsg + "\n", 0},
		{"SSE long event skipped", true, "data: " + long + "\n\ndata: " + logMsg + "\n\n", 1},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 7, len(c.in)} {
			n := 0
			tap := &upTap{sse: c.sse, seen: func() { n++ }}
			for in := c.in; len(in) > 0; {
				k := min(chunk, len(in))
				tap.feed([]byte(in[:k]))
				in = in[k:]
			}
			if n != c.want {
				t.Errorf("%s in chunks of %d: counted %d, want %d", c.name, chunk, n, c.want)
			}
		}
	}
}

func TestUpstreamOrderAwait(t *testing.T) {
	var o upOrder
	o.saw()
	o.saw()
	mark := o.mark()
	go func() { o.done(); o.done() }()
	o.await(context.Background(), mark) // returns once both are relayed
	if o.handled != 2 {
		t.Fatalf("handled = %d after await", o.handled)
	}

	o.saw() // one the SDK will never hand over
	start := time.Now()
	o.await(context.Background(), o.mark())
	if d := time.Since(start); d < upOrderWait {
		t.Errorf("await returned after %v, before its bound", d)
	}
	start = time.Now()
	o.await(context.Background(), o.mark()) // caught up: no second wait
	if d := time.Since(start); d > upOrderWait/2 {
		t.Errorf("await after a timeout took %v; it should have caught up", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o.saw()
	start = time.Now()
	o.await(ctx, o.mark())
	if d := time.Since(start); d > upOrderWait/2 {
		t.Errorf("await with an ended context took %v", d)
	}
}
