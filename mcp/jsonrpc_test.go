package mcp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int // 0: valid
		kind string
	}{
		{"request", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, 0, "request"},
		{"string id", `{"jsonrpc":"2.0","id":"a","method":"ping","params":{}}`, 0, "request"},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 0, "notification"},
		{"response", `{"jsonrpc":"2.0","id":3,"result":{}}`, 0, "response"},
		{"error response", `{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}`, 0, "response"},
		{"not json", `{"jsonrpc":`, CodeParseError, ""},
		{"empty", ``, CodeParseError, ""},
		{"object then more", `{"jsonrpc":"2.0","id":1,"method":"ping"} x`, CodeParseError, ""},
		{"bad string in an object", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\x01\"}", CodeParseError, ""},
		{"negative id", `{"jsonrpc":"2.0","id":-1.5e3,"method":"ping"}`, 0, "request"},
		{"array", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, CodeInvalidRequest, ""},
		{"number", `42`, CodeInvalidRequest, ""},
		{"no version", `{"id":1,"method":"ping"}`, CodeInvalidRequest, ""},
		{"wrong version", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, CodeInvalidRequest, ""},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, CodeInvalidRequest, ""},
		{"bool id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, CodeInvalidRequest, ""},
		{"empty method", `{"jsonrpc":"2.0","id":1,"method":""}`, CodeInvalidRequest, ""},
		{"method not string", `{"jsonrpc":"2.0","id":1,"method":5}`, CodeInvalidRequest, ""},
		{"scalar params", `{"jsonrpc":"2.0","id":1,"method":"ping","params":3}`, CodeInvalidRequest, ""},
		{"nothing", `{"jsonrpc":"2.0"}`, CodeInvalidRequest, ""},
		{"response without result", `{"jsonrpc":"2.0","id":1}`, CodeInvalidRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tt.in))
			if tt.code != 0 {
				if err == nil || err.Code != tt.code {
					t.Fatalf("error = %v, want code %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got := kindOf(m); got != tt.kind {
				t.Errorf("kind = %s, want %s", got, tt.kind)
			}
		})
	}
}

func kindOf(m *Message) string {
	switch {
	case m.IsRequest():
		return "request"
	case m.IsNotification():
		return "notification"
	case m.IsResponse():
		return "response"
	}
	return "?"
}

// FuzzDecodeMessage checks that no input panics, and that whatever decodes
// as valid re-encodes to JSON that decodes to the same kind of message.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"include_federated":true}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
		`{"jsonrpc":"2.0","id":"x","result":{"a":[1,2,{}]}}`, `[]`, `{`, `null`, `{"jsonrpc":"2.0","id":1e999,"method":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			if err.Code != CodeParseError && err.Code != CodeInvalidRequest {
				t.Fatalf("unexpected code %d", err.Code)
			}
			return
		}
		out, merr := json.Marshal(m)
		if merr != nil {
			t.Fatalf("re-encode: %v", merr)
		}
		m2, err2 := DecodeMessage(out)
		if err2 != nil || kindOf(m2) != kindOf(m) {
			t.Fatalf("round trip changed %s into %v / %v", data, err2, m2)
		}
	})
}

// FuzzDecodeMessageAsJSON: DecodeMessage reads a body as decoding it with
// encoding/json into the message's fields does (decodeWithJSON, how it
// read them before walking the body): the same error code, or the same
// members.
func FuzzDecodeMessageAsJSON(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"JSONRPC":"2.0","Id":"a","METHOD":"m","ſ":1}`, `{"jsonrpc":"2.0","İd":1,"method":null}`,
		`{"jsonrpc":"2.0","id":null,"result":{}}`, `{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}`,
		`{"jsonrpc":"2.0","id":1,"error":null,"result":[1]}`, `{"jsonrpc":2,"method":"x"}`,
		`{"jsonrpc":"2.0","method":"a\u00e9\ud800","method":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := DecodeMessage(data)
		want, werr := decodeWithJSON(data)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Code != werr.Code {
			t.Fatalf("DecodeMessage(%q) = %v, encoding/json says %v", data, gerr, werr)
		}
		if (got == nil) != (want == nil) {
			t.Fatalf("DecodeMessage(%q) = %+v, encoding/json says %+v", data, got, want)
		}
		if got != nil && (string(got.ID) != string(want.ID) || got.Method != want.Method || string(got.Params) != string(want.Params) ||
			string(got.Result) != string(want.Result) || !reflect.DeepEqual(got.Error, want.Error)) {
			t.Fatalf("DecodeMessage(%q) = %+v, encoding/json says %+v", data, got, want)
		}
	})
}

func decodeWithJSON(data []byte) (*Message, *Error) {
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		return nil, Errorf(CodeParseError, "parse error")
	}
	if data[0] != '{' {
		return nil, Errorf(CodeInvalidRequest, "invalid request")
	}
	var raw struct {
		JSONRPC *string         `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   *Error          `json:"error"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, Errorf(CodeInvalidRequest, "invalid request: %v", err)
	}
	m := &Message{JSONRPC: "2.0", ID: raw.ID, Params: raw.Params, Result: raw.Result, Error: raw.Error}
	if raw.Method != nil {
		m.Method = *raw.Method
	}
	return m, validate(m, raw.JSONRPC, raw.Method != nil)
}
