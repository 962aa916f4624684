package api

// Tool is the part of a GET /api/tools entry that mcpmesh itself reads. An
// entry is the tool exactly as tools/list gives it (inputSchema,
// annotations, _meta and the rest), so the route passes it through
// untyped; decode into Tool only to read these fields.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Source      string `json:"source"` // the node or upstream that serves it
}
