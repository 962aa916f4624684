package mcp_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

func TestServerConfigValidate(t *testing.T) {
	stdio := func(mod func(*mcp.ServerConfig)) mcp.ServerConfig {
		c := mcp.ServerConfig{Name: "files", Command: "npx", Args: []string{"-y", "server"}}
		mod(&c)
		return c
	}
	web := func(mod func(*mcp.ServerConfig)) mcp.ServerConfig {
		c := mcp.ServerConfig{Name: "web", URL: "https://mcp.example.com/mcp"}
		mod(&c)
		return c
	}
	cases := []struct {
		name    string
		cfg     mcp.ServerConfig
		wantErr string // "" for valid; else words the error must hold
	}{
		{"stdio", stdio(func(*mcp.ServerConfig) {}), ""},
		{"stdio with env, type and prefix", stdio(func(c *mcp.ServerConfig) {
			c.Env, c.Type, c.Prefix = map[string]string{"TOKEN": "x"}, "stdio", "fs-1"
		}), ""},
		{"http with headers", web(func(c *mcp.ServerConfig) {
			c.Headers, c.Type = map[string]string{"Authorization": "Bearer x"}, "streamable-http"
		}), ""},
		{"http type", web(func(c *mcp.ServerConfig) { c.Type = "http" }), ""},
		{"name with _ and capitals", stdio(func(c *mcp.ServerConfig) { c.Name = "My_Server-2" }), ""},
		{"name of 64", stdio(func(c *mcp.ServerConfig) { c.Name = strings.Repeat("a", 64) }), ""},
		{"empty name", stdio(func(c *mcp.ServerConfig) { c.Name = "" }), `name ""`},
		{"name of 65", stdio(func(c *mcp.ServerConfig) { c.Name = strings.Repeat("a", 65) }), "name"},
		{"name with __", stdio(func(c *mcp.ServerConfig) { c.Name = "a__b" }), `name "a__b"`},
		{"name with a dot", stdio(func(c *mcp.ServerConfig) { c.Name = "a.b" }), `name "a.b"`},
		{"prefix with _", stdio(func(c *mcp.ServerConfig) { c.Prefix = "p_q" }), `prefix "p_q"`},
		{"prefix of 33", stdio(func(c *mcp.ServerConfig) { c.Prefix = strings.Repeat("p", 33) }), "prefix"},
		{"service", stdio(func(c *mcp.ServerConfig) { c.Service = "search-2" }), ""},
		{"service and prefix", stdio(func(c *mcp.ServerConfig) { c.Service, c.Prefix = "search", "s" }), `both "service" ("search") and "prefix" ("s")`},
		{"service with capitals", stdio(func(c *mcp.ServerConfig) { c.Service = "Search" }), `service "Search"`},
		{"service with _", stdio(func(c *mcp.ServerConfig) { c.Service = "a_b" }), `service "a_b"`},
		{"service of 33", stdio(func(c *mcp.ServerConfig) { c.Service = strings.Repeat("s", 33) }), "service"},
		{"neither command nor url", stdio(func(c *mcp.ServerConfig) { c.Command, c.Args = "", nil }), `"command"`},
		{"both command and url", stdio(func(c *mcp.ServerConfig) { c.URL = "http://x" }), `both "command" ("npx") and "url" ("http://x")`},
		{"blank command", stdio(func(c *mcp.ServerConfig) { c.Command = "  " }), `command "  "`},
		{"relative url", web(func(c *mcp.ServerConfig) { c.URL = "/mcp" }), `url "/mcp"`},
		{"ftp url", web(func(c *mcp.ServerConfig) { c.URL = "ftp://x/mcp" }), `url "ftp://x/mcp"`},
		{"url without host", web(func(c *mcp.ServerConfig) { c.URL = "http:///mcp" }), "no host"},
		{"unparsable url", web(func(c *mcp.ServerConfig) { c.URL = "http://[::1" }), "invalid url"},
		{"args with url", web(func(c *mcp.ServerConfig) { c.Args = []string{"x"} }), `"args"`},
		{"env with url", web(func(c *mcp.ServerConfig) { c.Env = map[string]string{"A": "b"} }), `"env"`},
		{"headers with command", stdio(func(c *mcp.ServerConfig) { c.Headers = map[string]string{"A": "b"} }), `"headers"`},
		{"bad env name", stdio(func(c *mcp.ServerConfig) { c.Env = map[string]string{"A=B": "x"} }), `env name "A=B"`},
		{"bad header name", web(func(c *mcp.ServerConfig) { c.Headers = map[string]string{"Bad Header": "x"} }), `header name "Bad Header"`},
		{"header value with newline", web(func(c *mcp.ServerConfig) { c.Headers = map[string]string{"X": "a\r\nEvil: 1"} }), `header "X"`},
		{"stdio type with url", web(func(c *mcp.ServerConfig) { c.Type = "stdio" }), `type "stdio"`},
		{"http type with command", stdio(func(c *mcp.ServerConfig) { c.Type = "http" }), `type "http"`},
		{"sse type", web(func(c *mcp.ServerConfig) { c.Type = "sse" }), `type "sse"`},
		{"unknown type", web(func(c *mcp.ServerConfig) { c.Type = "grpc" }), `type "grpc"`},
		{"protocol_version 2025-11-25", stdio(func(c *mcp.ServerConfig) { c.ProtocolVersion = "2025-11-25" }), ""},
		{"protocol_version 2026-07-28", web(func(c *mcp.ServerConfig) { c.ProtocolVersion = "2026-07-28" }), ""},
		{"protocol_version older", stdio(func(c *mcp.ServerConfig) { c.ProtocolVersion = "2025-06-18" }),
			`invalid protocol_version "2025-06-18": use "2025-11-25" (the default) or "2026-07-28"`},
		{"protocol_version unknown", web(func(c *mcp.ServerConfig) { c.ProtocolVersion = "latest" }), `protocol_version "latest"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

func TestParseServersFile(t *testing.T) {
	cases := []struct {
		name    string
		data    string
		want    []mcp.ServerConfig
		wantErr string
	}{
		{"Claude Desktop style, sorted by name", `{"mcpServers":{
			"web":{"url":"http://127.0.0.1:9000/mcp","headers":{"X-Key":"k"},"prefix":"w"},
			"files":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","/tmp"],"env":{"A":"1"}}}}`,
			[]mcp.ServerConfig{
				{Name: "files", Command: "npx", Args: []string{"-y", "@modelcontextprotocol/server-filesystem", "/tmp"}, Env: map[string]string{"A": "1"}},
				{Name: "web", URL: "http://127.0.0.1:9000/mcp", Headers: map[string]string{"X-Key": "k"}, Prefix: "w"},
			}, ""},
		{"unknown fields tolerated, disabled skipped", `{"other":1,"mcpServers":{
			"a":{"command":"x","autoApprove":[],"timeout":60},
			"b":{"command":"","disabled":true}}}`,
			[]mcp.ServerConfig{{Name: "a", Command: "x"}}, ""},
		{"name field agreeing with its key", `{"mcpServers":{"a":{"name":"a","command":"x"}}}`,
			[]mcp.ServerConfig{{Name: "a", Command: "x"}}, ""},
		{"protocol_version read", `{"mcpServers":{"a":{"command":"x","protocol_version":"2026-07-28"}}}`,
			[]mcp.ServerConfig{{Name: "a", Command: "x", ProtocolVersion: "2026-07-28"}}, ""},
		{"bad protocol_version named", `{"mcpServers":{"a":{"command":"x","protocol_version":"2026"}}}`, nil,
			`server "a": invalid protocol_version "2026"`},
		{"empty", `{"mcpServers":{}}`, []mcp.ServerConfig{}, ""},
		{"not JSON", `{"mcpServers":`, nil, "parse servers file"},
		{"no mcpServers", `{"servers":{}}`, nil, `no "mcpServers" object`},
		{"mcpServers not an object", `{"mcpServers":[]}`, nil, "parse servers file"},
		{"entry not an object", `{"mcpServers":{"a":"npx"}}`, nil, `server "a": not a server object`},
		{"invalid entry named", `{"mcpServers":{"ok":{"command":"x"},"bad":{"url":"ftp://x"}}}`, nil, `server "bad": invalid url "ftp://x"`},
		{"bad key", `{"mcpServers":{"a b":{"command":"x"}}}`, nil, `invalid name "a b"`},
		{"name field differing from its key", `{"mcpServers":{"a":{"name":"b","command":"x"}}}`, nil, `name field "b" differs`},
		{"wrong field type", `{"mcpServers":{"a":{"command":"x","args":"-y"}}}`, nil, `server "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := mcp.ParseServersFile([]byte(c.data))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestServerConfigTransport(t *testing.T) {
	if got := (mcp.ServerConfig{Command: "x"}).Transport(); got != "stdio" {
		t.Errorf("command: %q", got)
	}
	if got := (mcp.ServerConfig{URL: "http://x"}).Transport(); got != "http" {
		t.Errorf("url: %q", got)
	}
}
