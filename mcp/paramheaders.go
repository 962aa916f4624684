package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// headerParam is one x-mcp-header annotation of a tool's inputSchema: the
// header Mcp-Param-<header> mirrors the argument at path (a chain of
// properties keys).
type headerParam struct {
	header string
	path   []string
}

// schemaParams are the x-mcp-header annotations reachable from a schema's
// root through properties keys only (the only place the revision allows).
func schemaParams(schema json.RawMessage, path []string) []headerParam {
	var s struct {
		Header     string                     `json:"x-mcp-header"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return nil
	}
	var out []headerParam
	if s.Header != "" && len(path) > 0 {
		out = append(out, headerParam{header: s.Header, path: path})
	}
	for name, sub := range s.Properties {
		if bytes.Contains(sub, []byte("x-mcp-header")) {
			out = append(out, schemaParams(sub, append(path[:len(path):len(path)], name))...)
		}
	}
	return out
}

// paramIndex is the x-mcp-header annotations of the tools of one listing,
// by tool name; it is rebuilt when the listing changes.
type paramIndex struct {
	mu    sync.Mutex
	items []Item // the listing it was built from
	tools map[string][]headerParam
}

// lookup returns the annotations of tool in the listing items.
func (pi *paramIndex) lookup(items []Item, tool string) []headerParam {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	if !sameItems(pi.items, items) {
		pi.items, pi.tools = items, map[string][]headerParam{}
		for _, it := range items {
			if !bytes.Contains(it.JSON, []byte("x-mcp-header")) {
				continue
			}
			var t struct {
				InputSchema json.RawMessage `json:"inputSchema"`
			}
			if json.Unmarshal(it.JSON, &t) == nil {
				pi.tools[it.Key] = schemaParams(t.InputSchema, nil)
			}
		}
	}
	return pi.tools[tool]
}

// sameItems reports whether a and b are the same listing (not a copy).
func sameItems(a, b []Item) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// checkParamHeaders compares the Mcp-Param-* headers of a 2026-07-28
// tools/call with the arguments its tool's x-mcp-header annotations name:
// a value in the body needs its header, with the same value.
func (s *Server) checkParamHeaders(ctx context.Context, h http.Header, m *Message) *Error {
	v := m.paramsView()
	l, err := s.backend.List(ctx, KindTool, ListOptions{IncludeFederated: true})
	if err != nil || l == nil {
		return nil // the call itself will say what is wrong
	}
	params := s.params.lookup(l.Items, v.Name)
	for _, hp := range params {
		if err := checkParamHeader(h, hp, argAt(v.Arguments, hp.path)); err != nil {
			return err
		}
	}
	return nil
}

// argAt is the argument at path, or nil when it is absent or null.
func argAt(args json.RawMessage, path []string) json.RawMessage {
	for _, key := range path {
		args = field(args, key)
	}
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	return args
}

func checkParamHeader(h http.Header, hp headerParam, value json.RawMessage) *Error {
	name := "Mcp-Param-" + hp.header
	if value == nil {
		return nil
	}
	want := argText(value)
	raw, present := h[http.CanonicalHeaderKey(name)]
	if !present || len(raw) == 0 {
		return headerMismatch(name, "", want)
	}
	got, ok := decodeHeaderValue(raw[0])
	if !ok {
		return &Error{Code: CodeHeaderMismatch, Message: "header mismatch: " + name + " value is not valid: " + quoteHeader(raw[0])}
	}
	if !sameArg(got, want, value) {
		return headerMismatch(name, got, want)
	}
	return nil
}

// argText is an argument as its header carries it: a string as is, a
// number or boolean as written.
func argText(value json.RawMessage) string {
	var s string
	if json.Unmarshal(value, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(value))
}

// sameArg compares a header value with the body's: numbers numerically
// (42.0 is 42), anything else as text.
func sameArg(got, want string, value json.RawMessage) bool {
	if got == want {
		return true
	}
	if len(value) == 0 || value[0] == '"' {
		return false
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	return err1 == nil && err2 == nil && g == w
}
