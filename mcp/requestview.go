package mcp

import (
	"encoding/json"
)

// ParamsView is a request's params read once, at dispatch, into the fields
// the layers below route, check and report by (go-sdk's CallToolParamsRaw
// is the model): they read these instead of decoding the params again.
// Raw is the params it was read from; a request whose params were
// rewritten carries a view of the new ones (Request.Renamed), or gets one
// read again by View.
type ParamsView struct {
	Raw    json.RawMessage
	Object bool // params is a JSON object (not absent, null or an array)
	// Name and URI are params.name and params.uri when they are strings.
	Name, URI string
	// Ref is params.ref as sent (completion/complete), and its fields.
	Ref                      json.RawMessage
	RefType, RefName, RefURI string
	// Arguments and Meta are params.arguments and params._meta as sent;
	// nil when absent.
	Arguments, Meta json.RawMessage
	// ProgressToken is params._meta.progressToken; nil when absent or null.
	ProgressToken json.RawMessage
}

// readParams reads the view of params that are valid JSON.
func readParams(raw json.RawMessage) *ParamsView {
	v := &ParamsView{Raw: raw}
	v.Object = eachField(raw, func(k string, val []byte) bool {
		switch k {
		case "name":
			v.Name = jsonString(val)
		case "uri":
			v.URI = jsonString(val)
		case "ref":
			v.Ref = val
		case "arguments":
			v.Arguments = val
		case "_meta":
			v.Meta = val
		}
		return true
	})
	if len(v.Ref) > 0 && v.Ref[0] == '{' {
		v.RefType, v.RefName, v.RefURI = jsonString(field(v.Ref, "type")), jsonString(field(v.Ref, "name")), jsonString(field(v.Ref, "uri"))
	}
	v.ProgressToken = nonNull(field(v.Meta, "progressToken"))
	return v
}

// viewOf is the view of params of unknown validity: params that are not
// valid JSON read as no object at all.
func viewOf(raw json.RawMessage) *ParamsView {
	if len(raw) == 0 || !json.Valid(raw) {
		return &ParamsView{Raw: raw}
	}
	return readParams(raw)
}

// jsonString is the string a JSON value holds, "" if it is not a string;
// escapes and bytes that are not ASCII are decoded as encoding/json does.
func jsonString(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			var s string
			_ = json.Unmarshal(raw, &s)
			return s
		}
	}
	return string(raw[1 : len(raw)-1])
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// sameBytes reports whether a and b are the same bytes in memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// paramsView is the view of m's params: the one read at dispatch, or one
// read now for a message built elsewhere.
func (m *Message) paramsView() *ParamsView {
	if m.view != nil && sameBytes(m.view.Raw, m.Params) {
		return m.view
	}
	return viewOf(m.Params)
}

// View is the view of the request's params: the one read at dispatch and
// carried down, or (params built or rewritten elsewhere) one read now.
func (r *Request) View() *ParamsView {
	if r.view != nil && sameBytes(r.view.Raw, r.Params) {
		return r.view
	}
	return viewOf(r.Params)
}

// Renamed is the request with params[outer] (or params[outer][inner]) set
// to name, as its server names the entry; its view goes with it.
func (r *Request) Renamed(outer, inner, name string) (*Request, error) {
	params, err := SetParam(r.Params, outer, inner, name)
	if err != nil {
		return nil, err
	}
	v := *r.View()
	v.Raw = params
	switch {
	case outer == "name" && inner == "":
		v.Name = name
	case outer == "ref" && inner == "name":
		v.RefName, v.Ref = name, field(params, "ref")
	default:
		return &Request{Method: r.Method, Params: params, Client: r.Client}, nil
	}
	return &Request{Method: r.Method, Params: params, Client: r.Client, view: &v}, nil
}
