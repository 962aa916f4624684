package mcp

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// StatelessVersion is the stateless protocol revision: requests carry their
// version, capabilities and client in params._meta and need no session.
const StatelessVersion = "2026-07-28"

// The error codes the stateless revision defines.
const (
	CodeHeaderMismatch             = -32020
	CodeMissingRequiredCapability  = -32021
	CodeUnsupportedProtocolVersion = -32022
	// CodeResourceNotFound is the legacy versions' code for a missing
	// resource; 2026-07-28 callers get CodeInvalidParams instead.
	CodeResourceNotFound = -32002
)

// The _meta keys of the stateless revision.
const (
	MetaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	MetaClientInfo         = "io.modelcontextprotocol/clientInfo"
	MetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	MetaLogLevel           = "io.modelcontextprotocol/logLevel"
	MetaServerInfo         = "io.modelcontextprotocol/serverInfo"
	MetaSubscriptionID     = "io.modelcontextprotocol/subscriptionId"
)

// The request headers of the stateless revision.
const (
	headerProtocolVersion = "Mcp-Protocol-Version"
	headerMethod          = "Mcp-Method"
	headerName            = "Mcp-Name"
)

// AllVersions are the versions server/discover names: the stateless one
// first, then the session versions.
var AllVersions = append([]string{StatelessVersion}, SupportedVersions...)

// requestMeta is what a stateless request says about itself in _meta.
type requestMeta struct {
	version  string
	caps     json.RawMessage // the client's capabilities object
	info     json.RawMessage // the client's clientInfo, or nil
	logLevel string          // "" when the client set none: no log messages
}

// isStateless tells a 2026-07-28 request from a legacy one: its
// MCP-Protocol-Version header names the stateless revision, or its _meta
// names a protocol version that is not one of the session versions. A
// request with neither is legacy (a session request or a plain POST).
func isStateless(r *http.Request, m *Message) bool {
	if !m.IsRequest() {
		return false
	}
	if r.Header.Get(headerProtocolVersion) == StatelessVersion {
		return true
	}
	v, ok := viewVersion(m.paramsView())
	return ok && !slices.Contains(SupportedVersions, v)
}

// metaVersion is params._meta's protocol version, if it has one.
func metaVersion(params json.RawMessage) (string, bool) {
	return viewVersion(viewOf(params))
}

// viewVersion is the protocol version a request's _meta names, if any
// (a _meta that names one that is not a string names "").
func viewVersion(v *ParamsView) (string, bool) {
	raw := field(v.Meta, MetaProtocolVersion)
	if raw == nil {
		return "", false
	}
	return jsonString(raw), true
}

// checkStateless validates a stateless request's _meta and headers; the
// error (with the HTTP status it is answered with) names what was wrong.
func checkStateless(h http.Header, m *Message) (requestMeta, *Error) {
	rm, err := decodeRequestMeta(m.paramsView())
	if err != nil {
		return rm, err
	}
	if err := checkHeaders(h, m, rm.version); err != nil {
		return rm, err
	}
	if rm.version != StatelessVersion {
		return rm, &Error{Code: CodeUnsupportedProtocolVersion,
			Message: "unsupported protocol version " + rm.version + ": supported are " + strings.Join(AllVersions, ", "),
			Data:    map[string]any{"supported": AllVersions, "requested": rm.version}}
	}
	return rm, nil
}

// decodeRequestMeta reads the required protocol version and client
// capabilities and the optional log level from params._meta.
func decodeRequestMeta(v *ParamsView) (requestMeta, *Error) {
	var rm requestMeta
	var version, level []byte
	if !v.Object || !eachField(v.Meta, func(k string, val []byte) bool {
		switch k {
		case MetaProtocolVersion:
			version = val
		case MetaClientCapabilities:
			rm.caps = val
		case MetaClientInfo:
			rm.info = val
		case MetaLogLevel:
			level = val
		}
		return true
	}) {
		return requestMeta{}, Errorf(CodeInvalidParams, "invalid params: a %s request needs params._meta", StatelessVersion)
	}
	if rm.version = jsonString(version); rm.version == "" {
		return rm, Errorf(CodeInvalidParams, "invalid params: _meta needs %q (a string)", MetaProtocolVersion)
	}
	if len(rm.caps) == 0 || rm.caps[0] != '{' {
		return rm, Errorf(CodeInvalidParams, "invalid params: _meta needs %q (an object)", MetaClientCapabilities)
	}
	if level != nil {
		if rm.logLevel = jsonString(level); !slices.Contains(logLevels, rm.logLevel) {
			return rm, Errorf(CodeInvalidParams, "invalid params: _meta %q must be one of %v", MetaLogLevel, logLevels)
		}
	}
	return rm, nil
}

// checkHeaders compares the MCP-Protocol-Version, Mcp-Method and Mcp-Name
// headers with the body: each is required, and must say what the body says.
func checkHeaders(h http.Header, m *Message, version string) *Error {
	if got := h.Get(headerProtocolVersion); got != version {
		return headerMismatch(headerProtocolVersion, got, version)
	}
	if got := h.Get(headerMethod); got != m.Method {
		return headerMismatch(headerMethod, got, m.Method)
	}
	want, named := nameOf(m)
	if !named {
		return nil
	}
	raw := h.Get(headerName)
	got, ok := decodeHeaderValue(raw)
	if !ok {
		return &Error{Code: CodeHeaderMismatch, Message: "header mismatch: " + headerName + " value is not valid: " + quoteHeader(raw)}
	}
	if raw == "" || got != want {
		return headerMismatch(headerName, got, want)
	}
	return nil
}

// nameOf is the body value Mcp-Name mirrors: params.name of tools/call and
// prompts/get, params.uri of resources/read.
func nameOf(m *Message) (string, bool) {
	switch m.Method {
	case "tools/call", "prompts/get":
		return m.paramsView().Name, true
	case "resources/read":
		return m.paramsView().URI, true
	}
	return "", false
}

func headerMismatch(name, got, want string) *Error {
	if got == "" {
		return &Error{Code: CodeHeaderMismatch, Message: "header mismatch: the " + name + " header is required and missing (the body says " + quoteHeader(want) + ")"}
	}
	return &Error{Code: CodeHeaderMismatch, Message: "header mismatch: " + name + " header value " + quoteHeader(got) + " does not match body value " + quoteHeader(want)}
}

func quoteHeader(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// decodeHeaderValue decodes a header value that may use the Base64
// sentinel form =?base64?...?=; it reports false for a value with
// characters a header may not carry, or a sentinel that is not Base64 of
// UTF-8.
func decodeHeaderValue(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return "", false
		}
	}
	inner, ok := strings.CutPrefix(v, "=?base64?")
	if !ok {
		return v, true
	}
	inner, ok = strings.CutSuffix(inner, "?=")
	if !ok {
		return v, true
	}
	b, err := base64.StdEncoding.DecodeString(inner)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// stripRequestMeta removes the stateless revision's per-request keys from
// params._meta before a request goes to the Backend: the node has read them,
// and an upstream or peer spoken to in a session version must not mistake
// the request for a stateless one. Other _meta keys (progressToken, trace
// context) stay.
func stripRequestMeta(params json.RawMessage) json.RawMessage {
	return stripMeta(viewOf(params)).Raw
}

// stripped is the stateless request m as the Backend gets it: its params
// without the per-request _meta keys, with their view.
func (m *Message) stripped() *Message {
	v := stripMeta(m.paramsView())
	return &Message{Method: m.Method, Params: v.Raw, view: v}
}

// stripMeta is stripRequestMeta on a view: the view of the stripped params.
func stripMeta(v *ParamsView) *ParamsView {
	if !v.Object || v.Meta == nil {
		return v
	}
	out, ok := dropMetaKeys(v.Raw, v.Meta, nil, MetaProtocolVersion, MetaClientInfo, MetaClientCapabilities, MetaLogLevel)
	if !ok {
		return v
	}
	s := *v
	s.Raw, s.Meta = out, field(out, "_meta")
	return &s
}

// dropMetaKeys is the object obj (whose _meta is meta) with keys deleted
// from its _meta, and _meta itself once it is empty, and with the fields
// of also set; false if _meta is there but not an object.
func dropMetaKeys(obj, meta []byte, also []jsonField, keys ...string) (json.RawMessage, bool) {
	newMeta := json.RawMessage(nil)
	if meta != nil {
		drops := make([]jsonField, len(keys))
		for i, k := range keys {
			drops[i] = jsonField{key: k}
		}
		m, ok := withFields(meta, drops...)
		if !ok {
			return nil, false
		}
		if string(m) != "{}" {
			newMeta = m
		}
	}
	return withFields(obj, append(also, jsonField{key: "_meta", val: newMeta})...)
}
