// Command svcupstream is the e2e tests' upstream of a replicated service: a
// stdio MCP server whose tools record every execution as one line,
// "<tool> <id> <node>", appended to the file $COUNT_FILE, so a test can
// tell how often, and where, each call ran. "read" is annotated
// readOnlyHint; "write" carries no hints. Both sleep "ms" milliseconds
// (after recording) and answer "<tool> <id> on <node>". When the file
// $DOWN_FILE exists at start, it exits at once: its upstream stays down.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type args struct {
	ID string `json:"id"`
	MS int    `json:"ms,omitempty"`
}

var mu sync.Mutex

func record(tool, id string) {
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(os.Getenv("COUNT_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		log.Fatalf("count file: %v", err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %s\n", tool, id, os.Getenv("NODE"))
}

func handler(tool string) mcp.ToolHandlerFor[args, any] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, a args) (*mcp.CallToolResult, any, error) {
		record(tool, a.ID)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(a.MS) * time.Millisecond):
		}
		text := fmt.Sprintf("%s %s on %s", tool, a.ID, os.Getenv("NODE"))
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
	}
}

func main() {
	if _, err := os.Stat(os.Getenv("DOWN_FILE")); os.Getenv("DOWN_FILE") != "" && err == nil {
		os.Exit(3)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "svcupstream", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "read", Description: "records and answers; read-only",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}, handler("read"))
	mcp.AddTool(s, &mcp.Tool{Name: "write", Description: "records and answers; no hints"}, handler("write"))
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Printf("svcupstream: %v", err)
		os.Exit(1)
	}
}
