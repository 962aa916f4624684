package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// index is an immutable view of the catalog: the listed items of each kind
// and where each name or URI is served.
type index struct {
	lists     [4][]Item
	tools     map[string]route
	prompts   map[string]route
	resources map[string]route
	templates []templateRoute
	heads     map[string]string // head of a listed "<head>__<name>" → what holds it (see Holder)
	digest    string
}

// route says which source serves a listed name and what the source calls it.
type route struct {
	source, orig string
	src          Source
}

type templateRoute struct {
	route
	template string
}

// build makes a new index from the sources' snapshots; c.mu must be held.
// An entry whose listed name is already taken is left out and logged.
func (c *Catalog) build() *index {
	ix := &index{tools: map[string]route{}, prompts: map[string]route{}, resources: map[string]route{}, heads: map[string]string{}}
	for _, name := range c.order {
		s := c.sources[name]
		noteHeads(ix, s)
		defs := s.src.Snapshot()
		c.addNamed(ix, s, KindTool, defs.Tools, ix.tools)
		c.addNamed(ix, s, KindPrompt, defs.Prompts, ix.prompts)
		c.addResources(ix, s, defs)
	}
	for k := range ix.lists {
		sortItems(ix.lists[k])
	}
	ix.digest = digestItems(ix.lists)
	return ix
}

func (c *Catalog) addNamed(ix *index, s *catSource, kind Kind, defs []json.RawMessage, routes map[string]route) {
	for _, def := range defs {
		orig := StringField(def, "name")
		listed := prefixed(s.prefix, orig)
		if orig == "" {
			continue
		}
		if prev, ok := routes[listed]; ok {
			c.log.Warn("catalog: entry left out, name already listed", "kind", kind.String(), "name", listed, "server", s.name, "listed_by", prev.source)
			continue
		}
		js, err := c.decorate(s, kind, def, listed)
		if err != nil {
			c.log.Warn("catalog: entry left out", "kind", kind.String(), "server", s.name, "err", err)
			continue
		}
		routes[listed] = route{source: s.name, orig: orig, src: s.src}
		ix.lists[kind] = append(ix.lists[kind], Item{Key: listed, JSON: js})
		noteHead(ix, kind, listed, s.name)
	}
}

func (c *Catalog) addResources(ix *index, s *catSource, defs Definitions) {
	for _, def := range defs.Resources {
		uri := StringField(def, "uri")
		if _, ok := ix.resources[uri]; ok || uri == "" {
			continue
		}
		if js, err := Decorate(def, "", "", c.node); err == nil {
			ix.resources[uri] = route{source: s.name, orig: uri, src: s.src}
			ix.lists[KindResource] = append(ix.lists[KindResource], Item{Key: uri, JSON: js})
		}
	}
	for _, def := range defs.ResourceTemplates {
		tmpl := StringField(def, "uriTemplate")
		if js, err := Decorate(def, "", "", c.node); err == nil && tmpl != "" {
			ix.templates = append(ix.templates, templateRoute{route{source: s.name, src: s.src}, tmpl})
			ix.lists[KindResourceTemplate] = append(ix.lists[KindResourceTemplate], Item{Key: tmpl, JSON: js})
		}
	}
}

// StringField reads one string field of a JSON object; "" when absent.
func StringField(def json.RawMessage, name string) string {
	return jsonString(field(def, name))
}

// Decorate re-encodes a definition as mcpmesh lists it: nameField (if not
// "") set to name, "source" set to source, and _meta["mcpmesh/source"] too.
// Every other field is kept as the server sent it.
func Decorate(def json.RawMessage, nameField, name, source string) (json.RawMessage, error) {
	if !isObject(def) {
		return nil, fmt.Errorf("definition is not a JSON object")
	}
	src, _ := json.Marshal(source)
	meta, ok := withFields(field(def, "_meta"), jsonField{key: MetaSource, val: src})
	if !ok { // a _meta that is not an object is replaced
		meta, _ = withFields(nil, jsonField{key: MetaSource, val: src})
	}
	var set []jsonField
	if nameField != "" {
		n, _ := json.Marshal(name)
		set = append(set, jsonField{key: nameField, val: n})
	}
	out, _ := withFields(def, append(set, jsonField{key: "source", val: src}, jsonField{key: "_meta", val: meta})...)
	return out, nil
}

// Call implements Backend: it routes a request to the source that serves it.
func (c *Catalog) Call(ctx context.Context, req *Request) (json.RawMessage, error) {
	ix := c.index()
	r, out, err := ix.resolve(req)
	if err != nil {
		return nil, err
	}
	return r.src.Call(ctx, out)
}

// resolve finds the route for a request and rewrites it for the source.
func (ix *index) resolve(req *Request) (route, *Request, error) {
	v := req.View()
	if len(req.Params) > 0 && string(req.Params) != "null" && !v.Object {
		return route{}, nil, Errorf(CodeInvalidParams, "invalid params for %s: not an object of the expected shape", req.Method)
	}
	switch req.Method {
	case "tools/call":
		return ix.named(ix.tools, "tool", v.Name, req)
	case "prompts/get":
		return ix.named(ix.prompts, "prompt", v.Name, req)
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		r, err := ix.resource(v.URI)
		return r, req, err
	case "completion/complete":
		return ix.completion(v.RefType, v.RefName, v.RefURI, req)
	}
	return route{}, nil, Errorf(CodeMethodNotFound, "method not found: %s", req.Method)
}

func (ix *index) named(routes map[string]route, what, name string, req *Request) (route, *Request, error) {
	if name == "" {
		return route{}, nil, Errorf(CodeInvalidParams, `invalid params: "name" is required`)
	}
	r, ok := routes[name]
	if !ok {
		return route{}, nil, Errorf(CodeInvalidParams, "unknown %s: %s", what, name)
	}
	if r.orig == name { // served under its own name: nothing to rewrite
		return r, req, nil
	}
	out, err := req.Renamed("name", "", r.orig)
	return r, out, err
}

func (ix *index) resource(uri string) (route, error) {
	if uri == "" {
		return route{}, Errorf(CodeInvalidParams, `invalid params: "uri" is required`)
	}
	if r, ok := ix.resources[uri]; ok {
		return r, nil
	}
	for _, t := range ix.templates {
		if TemplateMatches(t.template, uri) {
			return t.route, nil
		}
	}
	return route{}, &Error{Code: -32002, Message: "resource not found: " + uri, Data: map[string]string{"uri": uri}}
}

func (ix *index) completion(refType, name, uri string, req *Request) (route, *Request, error) {
	switch refType {
	case "ref/prompt":
		r, ok := ix.prompts[name]
		if !ok {
			return route{}, nil, Errorf(CodeInvalidParams, "unknown prompt: %s", name)
		}
		out, err := req.Renamed("ref", "name", r.orig)
		return r, out, err
	case "ref/resource":
		for _, t := range ix.templates {
			if t.template == uri {
				return t.route, req, nil
			}
		}
		r, err := ix.resource(uri)
		return r, req, err
	}
	return route{}, nil, Errorf(CodeInvalidParams, `invalid params: ref.type must be "ref/prompt" or "ref/resource"`)
}

// TemplateMatches reports whether uri could come from an RFC 6570 template:
// the literal parts must appear in order, variables match anything.
func TemplateMatches(tmpl, uri string) bool {
	rest := uri
	for i, part := range strings.Split(tmpl, "{") {
		lit := part
		if i > 0 {
			_, after, ok := strings.Cut(part, "}")
			if !ok {
				return false
			}
			lit = after
		}
		j := strings.Index(rest, lit)
		if j < 0 || (i == 0 && j != 0) {
			return false
		}
		rest = rest[j+len(lit):]
	}
	return rest == "" || strings.HasSuffix(tmpl, "}")
}

// SetParam sets params[outer] to value, or params[outer][inner] when inner
// is not "": how a request's name is turned into the one its server uses.
func SetParam(params json.RawMessage, outer, inner, value string) (json.RawMessage, error) {
	if inner != "" {
		return setNested(params, outer, inner, value)
	}
	return setField(params, outer, value)
}

func setField(params json.RawMessage, name, value string) (json.RawMessage, error) {
	if !isObject(params) {
		return nil, Errorf(CodeInvalidParams, "invalid params: not a JSON object")
	}
	v, _ := json.Marshal(value)
	out, _ := withFields(params, jsonField{key: name, val: v})
	return out, nil
}

func setNested(params json.RawMessage, outer, name, value string) (json.RawMessage, error) {
	if !isObject(params) {
		return nil, Errorf(CodeInvalidParams, "invalid params: not a JSON object")
	}
	inner, err := setField(field(params, outer), name, value)
	if err != nil {
		return nil, err
	}
	out, _ := withFields(params, jsonField{key: outer, val: inner})
	return out, nil
}

// Has reports whether the catalog itself serves key: a tool or prompt name,
// or a resource URI (listed, or matching one of its templates).
func (c *Catalog) Has(kind Kind, key string) bool {
	ix := c.index()
	switch kind {
	case KindTool:
		_, ok := ix.tools[key]
		return ok
	case KindPrompt:
		_, ok := ix.prompts[key]
		return ok
	}
	_, err := ix.resource(key)
	return err == nil
}
