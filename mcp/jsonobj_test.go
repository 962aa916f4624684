package mcp

import (
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

func TestField(t *testing.T) {
	for _, tc := range []struct {
		name, obj, key, want string
	}{
		{"string", `{"a":"x","b":2}`, "a", `"x"`},
		{"number after space", `{ "a" : 1 , "b" : 2 }`, "b", `2`},
		{"nested kept whole", `{"a":{"b":[1,{"c":"}"}]},"d":true}`, "a", `{"b":[1,{"c":"}"}]}`},
		{"escaped quote in a string", `{"a":"x\"}","b":null}`, "b", `null`},
		{"escaped key", `{"n\u0061me":"x"}`, "name", `"x"`},
		{"last of duplicates", `{"a":1,"a":2}`, "a", `2`},
		{"exact case", `{"Name":"x"}`, "name", ``},
		{"absent", `{"a":1}`, "b", ``},
		{"empty object", `{}`, "a", ``},
		{"array", `[{"a":1}]`, "a", ``},
		{"null", `null`, "a", ``},
		{"empty", ``, "a", ``},
		{"cut off", `{"a":"x`, "a", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(field([]byte(tc.obj), tc.key)); got != tc.want {
				t.Fatalf("field(%s, %q) = %q, want %q", tc.obj, tc.key, got, tc.want)
			}
		})
	}
}

func TestWithFields(t *testing.T) {
	for _, tc := range []struct {
		name, obj string
		fields    []jsonField
		want      string
		ok        bool
	}{
		{"add", `{"a":1}`, []jsonField{{"b", json.RawMessage(`"x"`)}}, `{"a":1,"b":"x"}`, true},
		{"replace goes last", `{"a":1,"b":2}`, []jsonField{{"a", json.RawMessage(`3`)}}, `{"b":2,"a":3}`, true},
		{"drop", `{"a":1,"b":{"c":2}}`, []jsonField{{key: "b"}}, `{"a":1}`, true},
		{"drop every duplicate", `{"a":1,"b":2,"a":3}`, []jsonField{{key: "a"}}, `{"b":2}`, true},
		{"drop the only field", `{"a":1}`, []jsonField{{key: "a"}}, `{}`, true},
		{"values kept as sent", `{ "a" : [1, 2] }`, []jsonField{{"b", json.RawMessage(`1`)}}, `{"a" : [1, 2],"b":1}`, true},
		{"null is empty", `null`, []jsonField{{"a", json.RawMessage(`1`)}}, `{"a":1}`, true},
		{"nothing is empty", ``, []jsonField{{"a", json.RawMessage(`1`)}}, `{"a":1}`, true},
		{"key quoted", `{}`, []jsonField{{`a"b`, json.RawMessage(`1`)}}, `{"a\"b":1}`, true},
		{"array refused", `[1]`, []jsonField{{"a", json.RawMessage(`1`)}}, ``, false},
		{"string refused", `"x"`, []jsonField{{"a", json.RawMessage(`1`)}}, ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := withFields([]byte(tc.obj), tc.fields...)
			if ok != tc.ok || string(got) != tc.want {
				t.Fatalf("withFields(%s) = %s, %v; want %s, %v", tc.obj, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzWithFields: on any valid JSON object, withFields gives valid JSON
// that decodes to what setting and deleting the keys in a map gives.
func FuzzWithFields(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":"}\""},"d":[1,2]}`, "a", `{"x":1}`, "d")
	f.Add(`{}`, "_meta", `null`, "b")
	f.Add(`{"\u0061":1, "a" :2}`, "a", `"v"`, "")
	f.Fuzz(func(t *testing.T, obj, setKey, setVal, dropKey string) {
		var before map[string]json.RawMessage
		if json.Unmarshal([]byte(obj), &before) != nil || before == nil || !json.Valid([]byte(setVal)) || setKey == dropKey || !utf8.ValidString(setKey) {
			return
		}
		out, ok := withFields([]byte(obj), jsonField{setKey, json.RawMessage(setVal)}, jsonField{key: dropKey})
		var after map[string]json.RawMessage
		if !ok || json.Unmarshal(out, &after) != nil {
			t.Fatalf("withFields(%s) = %s, %v: not an object", obj, out, ok)
		}
		want := maps.Clone(before)
		want[setKey] = json.RawMessage(setVal)
		delete(want, dropKey)
		if len(after) != len(want) {
			t.Fatalf("withFields(%s) = %s, want the keys of %v", obj, out, want)
		}
		for k, v := range want {
			if !jsonEqual(after[k], v) {
				t.Fatalf("withFields(%s)[%q] = %s, want %s", obj, k, after[k], v)
			}
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
