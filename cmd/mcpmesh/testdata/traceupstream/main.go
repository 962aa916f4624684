// Command traceupstream is the trace e2e test's upstream: an MCP server
// (go-sdk) over stdio, or over Streamable HTTP on the address of -http,
// whose one tool "traceparent" answers the trace context its request
// carried: "meta=<params._meta.traceparent> header=<traceparent header>"
// (each "" when absent; the header only over HTTP).
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func traceparent(_ context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
	meta, _ := req.Params.Meta["traceparent"].(string)
	header := ""
	if req.Extra != nil && req.Extra.Header != nil {
		header = req.Extra.Header.Get("traceparent")
	}
	text := "meta=" + meta + " header=" + header
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
}

func main() {
	addr := flag.String("http", "", "serve Streamable HTTP on this address instead of stdio")
	flag.Parse()
	s := mcp.NewServer(&mcp.Implementation{Name: "traceupstream", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "traceparent", Description: "answers the request's trace context"}, traceparent)
	if *addr != "" {
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
		log.Fatal(http.ListenAndServe(*addr, h))
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Printf("traceupstream: %v", err)
		os.Exit(1)
	}
}
