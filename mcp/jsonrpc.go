package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// JSON-RPC error codes as the MCP specification uses them.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// Error is a JSON-RPC error object. It is also a Go error, so a Backend can
// return one to answer a request with that code.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("jsonrpc %d: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Message is any JSON-RPC 2.0 message on the wire: a request (ID and Method),
// a notification (Method, no ID) or a response (ID and Result or Error).
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`

	view *ParamsView // Params as read at dispatch (see paramsView)
}

// IsRequest reports whether m is a request (it has a method and an id).
func (m *Message) IsRequest() bool { return m.Method != "" && m.ID != nil }

// IsNotification reports whether m is a notification (a method, no id).
func (m *Message) IsNotification() bool { return m.Method != "" && m.ID == nil }

// IsResponse reports whether m answers a request (an id, no method).
func (m *Message) IsResponse() bool { return m.Method == "" && m.ID != nil }

// DecodeMessage parses one JSON-RPC message. A body that is not JSON is a
// parse error (-32700); JSON that is not a valid message is an invalid
// request (-32600). The returned id, if any could be read, lets the caller
// answer the error with the client's id.
//
// The body is checked once and its members read by walking it (see
// readMessage), and a request's params once into their view.
func DecodeMessage(data []byte) (*Message, *Error) {
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		return nil, Errorf(CodeParseError, "parse error: body is not valid JSON")
	}
	if data[0] != '{' {
		return nil, Errorf(CodeInvalidRequest, "invalid request: a message must be a JSON object (batches are not supported)")
	}
	raw, err := readMessage(bytes.Clone(data))
	if err != nil {
		return nil, Errorf(CodeInvalidRequest, "invalid request: %v", err)
	}
	m := &Message{JSONRPC: "2.0", ID: raw.id, Params: raw.params, Result: raw.result, Error: raw.err}
	if raw.method != nil {
		m.Method = *raw.method
	}
	if err := validate(m, raw.version, raw.method != nil); err != nil {
		return m, err
	}
	if m.Method != "" {
		m.view = readParams(m.Params)
	}
	return m, nil
}

// wireMessage is the members of a message as sent: nil when absent (and
// the strings and error also when null).
type wireMessage struct {
	version, method    *string
	id, params, result json.RawMessage
	err                *Error
}

// readMessage reads the members of a message object that is valid JSON,
// matching their names as encoding/json matches a struct's fields (any
// case); a member of the wrong type is an error.
func readMessage(data []byte) (wireMessage, error) {
	var w wireMessage
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	walkObject(data, func(key string, _, vs, ve int) bool {
		v := data[vs:ve:ve]
		switch {
		case foldIs(key, "jsonrpc"):
			w.version = wireString(v, "jsonrpc", keep)
		case foldIs(key, "method"):
			w.method = wireString(v, "method", keep)
		case foldIs(key, "id"):
			w.id = v
		case foldIs(key, "params"):
			w.params = v
		case foldIs(key, "result"):
			w.result = v
		case foldIs(key, "error"):
			w.err = nil
			if string(v) != "null" {
				w.err = new(Error)
				keep(json.Unmarshal(v, w.err))
			}
		}
		return true
	})
	return w, err
}

// wireString is the string member v (nil for null); keep gets the error
// when v is neither.
func wireString(v []byte, name string, keep func(error)) *string {
	switch {
	case string(v) == "null":
		return nil
	case v[0] != '"':
		keep(fmt.Errorf("%q must be a string", name))
		return nil
	}
	s := jsonString(v)
	return &s
}

// foldIs reports whether the member name key matches the field name (in
// lower case) as encoding/json matches them: as bytes.EqualFold does.
func foldIs(key, name string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return strings.EqualFold(key, name)
		}
	}
	if len(key) != len(name) {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c != name[i] && c+('a'-'A') != name[i] {
			return false
		}
	}
	return true
}

func validate(m *Message, version *string, hasMethod bool) *Error {
	if version == nil || *version != "2.0" {
		return Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`)
	}
	if m.ID != nil && !validID(m.ID) {
		m.ID = nil
		return Errorf(CodeInvalidRequest, "invalid request: id must be a string or a number")
	}
	if hasMethod && m.Method == "" {
		return Errorf(CodeInvalidRequest, "invalid request: method must be a non-empty string")
	}
	if !hasMethod && m.ID == nil {
		return Errorf(CodeInvalidRequest, `invalid request: a message needs a "method" or an "id"`)
	}
	if !hasMethod && m.Result == nil && m.Error == nil {
		return Errorf(CodeInvalidRequest, `invalid request: a response needs a "result" or an "error"`)
	}
	if hasMethod && len(m.Params) > 0 && m.Params[0] != '{' && m.Params[0] != '[' {
		return Errorf(CodeInvalidRequest, "invalid request: params must be an object or an array")
	}
	return nil
}

// validID reports whether an id of a message that is valid JSON is a
// string or a number (whose first byte says which it is).
func validID(id json.RawMessage) bool {
	return len(id) > 0 && (id[0] == '"' || id[0] == '-' || '0' <= id[0] && id[0] <= '9')
}

// NewResponse encodes a successful response to id.
func NewResponse(id json.RawMessage, result json.RawMessage) *Message {
	if result == nil {
		result = json.RawMessage("{}")
	}
	return &Message{JSONRPC: "2.0", ID: id, Result: result}
}

// NewErrorResponse encodes an error response to id (null when unknown).
func NewErrorResponse(id json.RawMessage, e *Error) *Message {
	if id == nil {
		id = json.RawMessage("null")
	}
	return &Message{JSONRPC: "2.0", ID: id, Error: e}
}

// NewNotification encodes a notification with the given params.
func NewNotification(method string, params any) (*Message, error) {
	p, err := marshalParams(params)
	if err != nil {
		return nil, err
	}
	return &Message{JSONRPC: "2.0", Method: method, Params: p}, nil
}

func marshalParams(params any) (json.RawMessage, error) {
	switch p := params.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return p, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}
