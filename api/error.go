package api

// Error is the body of every REST error answer: {"error": "<what was wrong>"}
// with the HTTP status. (The MCP endpoint answers JSON-RPC errors instead.)
type Error struct {
	Error string `json:"error"`
}
