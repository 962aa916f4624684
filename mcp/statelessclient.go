package mcp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// This file is the client side of a 2026-07-28 request, as one node sends
// it to another: the _meta and headers the revision requires, and the
// answer read as JSON or as an SSE stream of notifications then the answer.

// StatelessParams returns params with the _meta a 2026-07-28 request
// carries: the protocol version, the client capabilities caps (those of
// the caller a forwarded request is made for, so that the receiving node
// asks it only what it can answer, as input_required; {} when caps is not
// an object) and, if not "", the log level. Other _meta keys
// (progressToken) stay.
func StatelessParams(params json.RawMessage, logLevel string, caps json.RawMessage) (json.RawMessage, error) {
	caps = bytes.TrimSpace(caps)
	if len(caps) == 0 || caps[0] != '{' || !json.Valid(caps) {
		caps = json.RawMessage(`{}`)
	}
	if out, ok := spliceMeta(params, logLevel, caps); ok {
		return out, nil
	}
	if t := bytes.TrimSpace(params); len(t) > 0 && string(t) != "null" && !isObject(t) {
		return nil, errors.New("params are not a JSON object")
	}
	set := []jsonField{{key: MetaProtocolVersion, val: json.RawMessage(`"` + StatelessVersion + `"`)},
		{key: MetaClientCapabilities, val: caps}}
	if logLevel != "" {
		lv, _ := json.Marshal(logLevel)
		set = append(set, jsonField{key: MetaLogLevel, val: lv})
	}
	meta, ok := withFields(field(params, "_meta"), set...)
	if !ok {
		return nil, errors.New("params._meta is not a JSON object")
	}
	out, _ := withFields(params, jsonField{key: "_meta", val: meta})
	return out, nil
}

// NewStatelessRequest is req as a 2026-07-28 request with id: its params
// with the _meta of StatelessParams, and their view.
func NewStatelessRequest(id json.RawMessage, req *Request, logLevel string, caps json.RawMessage) (*Message, error) {
	params, err := StatelessParams(req.Params, logLevel, caps)
	if err != nil {
		return nil, err
	}
	v := *req.View()
	v.Raw, v.Object, v.Meta = params, true, field(params, "_meta")
	return &Message{JSONRPC: "2.0", ID: id, Method: req.Method, Params: params, view: &v}, nil
}

// spliceMeta is StatelessParams without decoding, for params (an object)
// that have no _meta to merge with: the new _meta goes first.
func spliceMeta(params json.RawMessage, logLevel string, caps json.RawMessage) (json.RawMessage, bool) {
	params = bytes.TrimSpace(params)
	if len(params) < 2 || params[0] != '{' || bytes.Contains(params, []byte(`"_meta"`)) || !json.Valid(params) {
		return nil, false
	}
	out := make([]byte, 0, len(params)+160)
	out = append(out, `{"_meta":{"`+MetaProtocolVersion+`":"`+StatelessVersion+`","`+MetaClientCapabilities+`":`...)
	out = append(out, caps...)
	if logLevel != "" {
		lv, _ := json.Marshal(logLevel)
		out = append(append(out, `,"`+MetaLogLevel+`":`...), lv...)
	}
	out = append(out, '}')
	if rest := bytes.TrimSpace(params[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, params[1:]...), true
}

// SetStatelessHeaders sets the headers of a 2026-07-28 request m:
// MCP-Protocol-Version, Mcp-Method, Mcp-Name and, for a tools/call whose
// tool's inputSchema has x-mcp-header annotations, its Mcp-Param-* headers.
func SetStatelessHeaders(h http.Header, m *Message, inputSchema json.RawMessage) {
	h.Set(headerProtocolVersion, StatelessVersion)
	h.Set(headerMethod, m.Method)
	if name, named := nameOf(m); named {
		h.Set(headerName, encodeHeaderValue(name))
	}
	if len(inputSchema) == 0 || !bytes.Contains(inputSchema, []byte("x-mcp-header")) {
		return
	}
	args := m.paramsView().Arguments
	for _, hp := range schemaParams(inputSchema, nil) {
		if v := argAt(args, hp.path); v != nil {
			h.Set("Mcp-Param-"+hp.header, encodeHeaderValue(argText(v)))
		}
	}
}

// encodeHeaderValue is v as a header carries it: as is when it is
// printable ASCII without edge spaces, else in the =?base64?...?= form.
func encodeHeaderValue(v string) string {
	plain := v == "" || (v[0] != ' ' && v[len(v)-1] != ' ')
	for i := 0; plain && i < len(v); i++ {
		plain = v[i] >= 0x20 && v[i] <= 0x7e
	}
	if plain {
		return v
	}
	return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

// errNoAnswer is a stream that ended before the request's answer.
var errNoAnswer = errors.New("the stream ended without the answer")

// ReadStatelessAnswer reads the answer to a 2026-07-28 request from its
// response body: one JSON message, or (Content-Type text/event-stream) SSE
// events, each notification handed to onNotify, until the answer.
func ReadStatelessAnswer(resp *http.Response, onNotify func(*Message)) (*Message, error) {
	if !bytes.HasPrefix([]byte(resp.Header.Get("Content-Type")), []byte("text/event-stream")) {
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		return decodeAnswer(raw)
	}
	return readSSEAnswer(bufio.NewReaderSize(resp.Body, 16<<10), onNotify)
}

// readSSEAnswer reads events until the one that answers the request.
func readSSEAnswer(br *bufio.Reader, onNotify func(*Message)) (*Message, error) {
	var data []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("an SSE line is longer than 16 KiB")
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errNoAnswer
			}
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0 && len(data) > 0:
			m, err := decodeAnswer(data)
			if err != nil || m.IsResponse() {
				return m, err
			}
			if m.IsNotification() && onNotify != nil {
				onNotify(m)
			}
			data = data[:0]
		case bytes.HasPrefix(line, []byte("data:")):
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[5:], []byte(" "))...)
		}
	}
}

// decodeAnswer decodes one JSON-RPC message of an answer (a copy of raw,
// which the caller may reuse).
func decodeAnswer(raw []byte) (*Message, error) {
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) || raw[0] != '{' {
		return nil, errors.New("answer is not JSON-RPC: not a JSON object")
	}
	w, err := readMessage(bytes.Clone(raw))
	if err != nil {
		return nil, fmt.Errorf("answer is not JSON-RPC: %w", err)
	}
	m := &Message{ID: w.id, Params: w.params, Result: w.result, Error: w.err}
	if w.version != nil {
		m.JSONRPC = *w.version
	}
	if w.method != nil {
		m.Method = *w.method
	}
	return m, nil
}

// StripStatelessResult removes from a 2026-07-28 result what that revision
// adds to every result (resultType "complete", ttlMs, cacheScope, the
// answering server's serverInfo in _meta), so it reads as a session
// version's result; a 2026-07-28 caller's server adds its own again. res
// is valid JSON, as decoded from the answer.
func StripStatelessResult(res json.RawMessage) json.RawMessage {
	var meta, resultType []byte
	if !eachField(res, func(k string, v []byte) bool {
		switch k {
		case "_meta":
			meta = v
		case "resultType":
			resultType = v
		}
		return true
	}) {
		return res
	}
	drop := []jsonField{{key: "ttlMs"}, {key: "cacheScope"}}
	if string(resultType) == `"complete"` {
		drop = append(drop, jsonField{key: "resultType"})
	}
	out, ok := dropMetaKeys(res, meta, drop, MetaServerInfo)
	if !ok { // a _meta that is not an object stays
		out, _ = withFields(res, drop...)
	}
	return out
}
