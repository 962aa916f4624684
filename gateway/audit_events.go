package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Outcomes of audit records (docs/audit.md).
const (
	auditOK          = "ok"           // answered; REST 2xx
	auditToolError   = "tool_error"   // the tool's own isError result
	auditError       = "error"        // a JSON-RPC error (unknown name, bad params, internal); REST 5xx
	auditRateLimited = "rate_limited" // over its rate (error: rate_limited)
	auditUnavailable = "unavailable"  // the mesh could not serve it: error names why (peer_offline, …)
	auditDenied      = "denied"       // refused by an access rule (mcp.NoteDenied); REST 401 or 403
	auditRejected    = "rejected"     // REST 4xx other than 401 and 403: bad input, unknown, conflict
	auditCancelled   = "cancelled"    // the client cancelled it or left before the answer
)

// audited reports whether an MCP method gets an audit line.
func audited(method string) bool {
	return method == "tools/call" || method == "prompts/get" || method == "resources/read"
}

// callRecord is the audit record of a finished MCP request, of /mcp or
// (peer set) of /mcp/peers/{peer}.
func (g *Gateway) callRecord(peer string, ci mcp.CallInfo) auditRecord {
	kind, _ := ci.Meta[federation.MetaError].(string)
	if ci.Cancelled {
		ci.Outcome = mcp.OutcomeCancelled
	}
	r := auditRecord{Time: time.Now().UTC(), Node: g.name, Principal: principalRecord(ci.Principal),
		Method: ci.Method, Name: ci.Name, Source: ci.Source, Provider: ci.Provider,
		Outcome: callOutcome(ci.Outcome, kind, ci.Denied), Error: kind, Code: ci.Code,
		Duration: millis(ci.Duration), RequestID: ci.ID, Relayed: ci.Relayed}
	if peer != "" && ci.Method != "resources/read" {
		r.Name = federation.FederatedName(peer, ci.Name)
	}
	if r.Source == "" && peer != "" {
		r.Source = peer
	}
	if r.Source == "" && (r.Outcome == auditOK || r.Outcome == auditToolError) {
		r.Source, r.Provider = g.name, g.name // served by the node's own entries
	}
	return r
}

// callOutcome is the audit outcome of an MCP request answered with
// outcome (ok, tool_error, error) and the mesh's error kind, if any, or
// refused by an access rule (denied).
func callOutcome(outcome, kind string, denied bool) string {
	switch {
	case denied:
		return auditDenied
	case outcome == mcp.OutcomeCancelled:
		return auditCancelled
	case kind == federation.ErrRateLimited:
		return auditRateLimited
	case kind != "":
		return auditUnavailable
	case outcome == "tool_error":
		return auditToolError
	case outcome == "error":
		return auditError
	}
	return auditOK
}

func principalRecord(p mcp.Principal) auditPrincipal {
	return auditPrincipal{Subject: p.Subject, Issuer: p.Issuer, Groups: p.GroupList(), Node: p.Node}
}

// auditWrites writes an audit line for every write (POST, PUT, PATCH,
// DELETE) under /api, refused ones included: it runs before the route's
// authentication, so a route added under /api is audited with no more
// code. Name is the route's :name, else the "name" of the JSON body.
func (g *Gateway) auditWrites(c *gin.Context) {
	if g.audit == nil || !isWrite(c.Request.Method) {
		c.Next()
		return
	}
	start := time.Now()
	id := requestID(c)
	c.Next()
	status := c.Writer.Status()
	r := auditRecord{Time: start.UTC(), Node: g.name, Method: c.Request.Method + " " + c.FullPath(),
		Name: c.Param("name"), Outcome: restOutcome(status), Code: status,
		Duration: millis(time.Since(start)), RequestID: id}
	if r.Name == "" {
		r.Name = mcp.StringField(bodyOf(c), "name")
	}
	if cl, ok := c.Get(claimsKey); ok {
		r.Principal = principalRecord(principalOf(cl.(*Claims)))
	}
	if r.Outcome != auditOK {
		r.Error = http.StatusText(status)
	}
	g.audit.add(r)
}

func isWrite(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

func restOutcome(status int) string {
	switch {
	case status < 400:
		return auditOK
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return auditDenied
	case status < 500:
		return auditRejected
	}
	return auditError
}

// requestID is the request's X-Request-Id (up to 128 printable ASCII
// characters), else a random one, sent back in X-Request-Id; as JSON.
func requestID(c *gin.Context) json.RawMessage {
	id := c.GetHeader("X-Request-Id")
	if !printableID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Header("X-Request-Id", id)
	js, _ := json.Marshal(id)
	return js
}

func printableID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// bodyKey holds the request body limitBody read, for the audit line.
const bodyKey = "mcpmesh.body"

func bodyOf(c *gin.Context) []byte {
	b, _ := c.Get(bodyKey)
	body, _ := b.([]byte)
	return body
}
