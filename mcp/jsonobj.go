package mcp

import (
	"bytes"
	"encoding/json"
)

// This file is the package's one set of JSON object helpers: read a field
// of an object, or add, replace and drop fields, by walking the object's
// top level and splicing its bytes instead of decoding it into a map and
// encoding it again. Values are kept byte for byte. They expect valid JSON
// (what DecodeMessage or json.Marshal produced); on anything that is not an
// object they report false. Keys match exactly, as a map's do.

// eachField calls fn with each key and raw value of the JSON object obj,
// in order, until fn returns false; false when obj is not an object.
func eachField(obj []byte, fn func(key string, val []byte) bool) bool {
	return walkObject(obj, func(key string, _, vs, ve int) bool { return fn(key, obj[vs:ve]) })
}

// walkObject calls fn with each key of the object obj, where the field
// starts (its key's quote) and its value's span, until fn returns false.
func walkObject(obj []byte, fn func(key string, ks, vs, ve int) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	if i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '}' {
		return true
	}
	for {
		key, vs, ve := nextField(obj, i)
		if ve < 0 {
			return false
		}
		if !fn(key, i, vs, ve) {
			return true
		}
		if i = skipSpace(obj, ve); i < len(obj) && obj[i] == '}' {
			return true
		}
		if i >= len(obj) || obj[i] != ',' {
			return false
		}
		i = skipSpace(obj, i+1)
	}
}

// nextField reads `"key": value` at i: the key and the value's span (end
// -1 when there is no such field).
func nextField(obj []byte, i int) (key string, vs, ve int) {
	if i >= len(obj) || obj[i] != '"' {
		return "", 0, -1
	}
	ke := skipString(obj, i)
	if ke < 0 {
		return "", 0, -1
	}
	key = unquoteKey(obj[i:ke])
	if i = skipSpace(obj, ke); i >= len(obj) || obj[i] != ':' {
		return "", 0, -1
	}
	vs = skipSpace(obj, i+1)
	ve = skipValue(obj, vs)
	if ve <= vs {
		return "", 0, -1
	}
	return key, vs, ve
}

func unquoteKey(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	var s string
	_ = json.Unmarshal(q, &s)
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at i, or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value that starts at i, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipNested(b, i)
	}
	j := i
	for j < len(b) && !endsLiteral(b[j]) {
		j++
	}
	return j
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// skipNested returns the index after the object or array at i, or -1.
func skipNested(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			if j = skipString(b, j); j < 0 {
				return -1
			}
			j--
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// field is obj[key] (the last one, as decoding into a map keeps), nil when
// absent or obj is not an object.
func field(obj []byte, key string) json.RawMessage {
	var out json.RawMessage
	eachField(obj, func(k string, v []byte) bool {
		if k == key {
			out = v
		}
		return true
	})
	return out
}

// isObject reports whether raw is a JSON object (checked in full).
func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

// jsonField is one key and value for withFields: a nil value drops the key.
type jsonField struct {
	key string
	val json.RawMessage
}

// withFields is the object obj with each of fields set (added after the
// fields it keeps) or, for a nil value, dropped; false when obj is not an
// object. "" or null count as the empty object.
func withFields(obj []byte, fields ...jsonField) (json.RawMessage, bool) {
	out := make([]byte, 0, len(obj)+64)
	out = append(out, '{')
	if t := bytes.TrimSpace(obj); len(t) > 0 && string(t) != "null" {
		ok := walkObject(obj, func(k string, ks, _, ve int) bool {
			if !editsKey(fields, k) {
				out = append(appendComma(out), obj[ks:ve]...)
			}
			return true
		})
		if !ok {
			return nil, false
		}
	}
	for _, f := range fields {
		if f.val != nil {
			out = appendComma(out)
			out = appendKey(out, f.key)
			out = append(append(out, ':'), f.val...)
		}
	}
	return append(out, '}'), true
}

func editsKey(fields []jsonField, key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}

func appendComma(out []byte) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	return out
}

func appendKey(out []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			q, _ := json.Marshal(key)
			return append(out, q...)
		}
	}
	return append(append(append(out, '"'), key...), '"')
}
