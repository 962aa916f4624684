package federation

import (
	"strings"
	"testing"
)

// TestParseInfo: an answer to GET /api/federation/info that no node would
// send is refused with an error naming what was wrong.
func TestParseInfo(t *testing.T) {
	good := `{"name":"gw-b","version":"1","gossip_address":"127.0.0.1:9001","url":"http://127.0.0.1:8001"}`
	cases := []struct{ name, body, mention string }{
		{"not JSON", `<html>`, "JSON"},
		{"not an object", `["gw-b"]`, "JSON"},
		{"empty", ``, "JSON"},
		{"name missing", `{"gossip_address":"127.0.0.1:9001"}`, "name"},
		{"name not a string", `{"name":5,"gossip_address":"127.0.0.1:9001"}`, "name"},
		{"name breaks the rules", `{"name":"../etc","gossip_address":"127.0.0.1:9001"}`, "name"},
		{"name too long", `{"name":"` + strings.Repeat("n", 65) + `","gossip_address":"127.0.0.1:9001"}`, "name"},
		{"gossip address missing", `{"name":"gw-b"}`, "gossip_address"},
		{"gossip address without port", `{"name":"gw-b","gossip_address":"127.0.0.1"}`, "gossip_address"},
		{"gossip port zero", `{"name":"gw-b","gossip_address":"127.0.0.1:0"}`, "port"},
		{"url not http", `{"name":"gw-b","gossip_address":"127.0.0.1:9001","url":"ftp://x"}`, "url"},
		{"url huge", `{"name":"gw-b","gossip_address":"127.0.0.1:9001","url":"http://x/` + strings.Repeat("u", 300) + `"}`, "url"},
		{"version huge", `{"name":"gw-b","gossip_address":"127.0.0.1:9001","version":"` + strings.Repeat("v", 100) + `"}`, "version"},
		{"members not a number", `{"name":"gw-b","gossip_address":"127.0.0.1:9001","members":"3"}`, "members"},
		{"over the size limit", `{"name":"gw-b","gossip_address":"127.0.0.1:9001","x":"` + strings.Repeat("x", maxInfoBytes) + `"}`, "larger"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseInfo(strings.NewReader(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("parseInfo(%.80s) = %v; want an error naming %q", tc.body, err, tc.mention)
			}
		})
	}
	if info, err := parseInfo(strings.NewReader(good)); err != nil || info.Name != "gw-b" || info.GossipAddress != "127.0.0.1:9001" {
		t.Errorf("parseInfo(a node's answer) = %+v, %v", info, err)
	}
}

// FuzzParseInfo: no answer to GET /api/federation/info panics the parser,
// and whatever it accepts passes the checks a node's answer passes.
func FuzzParseInfo(f *testing.F) {
	for _, seed := range []string{
		`{"name":"gw-b","version":"1","gossip_address":"127.0.0.1:9001","url":"http://127.0.0.1:8001","members":2,"peers":1}`,
		`{"name":"gw-b","gossip_address":"[::1]:9001","url":"https://[::1]:8001/"}`,
		`{`, `null`, `[]`, `""`, `{"name":null}`, `{"name":["a"]}`, `{"name":"a","gossip_address":":"}`,
		`{"name":"-a","gossip_address":"h:1"}`, `{"name":"a\u0000b","gossip_address":"h:1"}`,
		`{"name":"a","gossip_address":"h:99999"}`, `{"name":"a","gossip_address":"h:1","url":"http://%zz"}`,
		`{"name":"a","gossip_address":"h:1","members":1e400}`, `{"name":"a","gossip_address":"h:1"} trailing`,
		`{"name":"` + strings.Repeat("a", 70000) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := parseInfo(strings.NewReader(string(body)))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no text")
			}
			return
		}
		if checkInfo(info) != nil || info.Name == "" || info.GossipAddress == "" {
			t.Fatalf("accepted an info that fails its checks: %+v", info)
		}
	})
}

// TestSameAddress: URLs are the same address when their hosts resolve to a
// common address and their ports (the scheme's default when unnamed) match.
func TestSameAddress(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"http://localhost:8001", "http://127.0.0.1:8001", true},
		{"http://127.0.0.1:8001/", "http://127.0.0.1:8001", true},
		{"http://LOCALHOST:8001", "http://localhost:8001", true},
		{"http://127.0.0.1", "http://127.0.0.1:80", true},
		{"https://127.0.0.1", "https://127.0.0.1:443", true},
		{"http://127.0.0.1:8001", "http://127.0.0.1:8002", false},
		{"http://127.0.0.2:8001", "http://127.0.0.1:8001", false},
		{"http://[::ffff:127.0.0.1]:8001", "http://127.0.0.1:8001", true},
	} {
		t.Run(tc.a+" "+tc.b, func(t *testing.T) {
			if got, err := sameAddress(t.Context(), tc.a, tc.b); got != tc.same {
				t.Errorf("sameAddress = %v (%v), want %v", got, err, tc.same)
			}
		})
	}
	if _, err := sameAddress(t.Context(), "http://no-such-host.invalid:1", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "no-such-host.invalid") {
		t.Errorf("an unresolvable host: %v; want an error naming it", err)
	}
}
