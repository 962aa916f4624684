// Package mcp is mcpmesh's Model Context Protocol layer: JSON-RPC messages,
// the Streamable HTTP server transport (sessionless POSTs and full sessions
// with SSE), the local Catalog of tools, prompts and resources, the demo
// tools, and upstream MCP clients built on the official go-sdk.
//
// The package knows nothing of peers or gossip: federation is layered on top
// by implementing [Backend]. It never imports Gin; it exports http.Handlers.
package mcp
