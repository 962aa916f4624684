package api

import (
	"encoding/json"
	"testing"
	"time"
)

// TestWire pins the JSON of every wire type, field names and order, with
// every field set and with none: the bodies documented in docs/ and the
// contract. A renamed tag, a lost omitempty or a reordered field fails it.
func TestWire(t *testing.T) {
	at := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	const T = `"2026-07-28T12:00:00Z"`
	peerName := "pb"
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"peer", Peer{Name: "pb", URL: "http://b", Member: "b", TrustLevel: "full", Status: PeerOnline, Tools: 4,
			LastSeen: &at, CatalogDigest: "d", Error: "e", CreatedAt: at, UpdatedAt: at, UpdatedBy: "a"},
			`{"name":"pb","url":"http://b","member":"b","trust_level":"full","status":"online","tools":4,"last_seen":` + T +
				`,"catalog_digest":"d","error":"e","created_at":` + T + `,"updated_at":` + T + `,"updated_by":"a"}`},
		{"peer empty", Peer{}, `{"name":"","url":"","member":"","trust_level":"","status":"","tools":0,"last_seen":null,` +
			`"created_at":"0001-01-01T00:00:00Z","updated_at":"0001-01-01T00:00:00Z","updated_by":""}`},
		{"add peer", AddPeerRequest{URL: "http://b", Name: "pb", TrustLevel: "discover"}, `{"url":"http://b","name":"pb","trust_level":"discover"}`},
		{"rule", Rule{Name: "team-a", Effect: RuleAllow, Principals: []string{"group:a"}, Tools: []string{"a__*"}, Rate: "10/s",
			CreatedAt: at, UpdatedAt: at, UpdatedBy: "n1"},
			`{"name":"team-a","effect":"allow","principals":["group:a"],"tools":["a__*"],"rate":"10/s","created_at":` + T +
				`,"updated_at":` + T + `,"updated_by":"n1"}`},
		{"rule empty", Rule{}, `{"name":"","effect":"","principals":null,"tools":null,"created_at":"0001-01-01T00:00:00Z",` +
			`"updated_at":"0001-01-01T00:00:00Z","updated_by":""}`},
		{"rule patch", RulePatch{Effect: ptr("deny"), Principals: &[]string{"*"}, Tools: &[]string{"x"}, Rate: ptr("")},
			`{"effect":"deny","principals":["*"],"tools":["x"],"rate":""}`},
		{"rule patch empty", RulePatch{}, `{}`},
		{"add peer url only", AddPeerRequest{URL: "http://b"}, `{"url":"http://b"}`},
		{"trust", TrustRequest{TrustLevel: "none"}, `{"trust_level":"none"}`},
		{"member", Member{Name: "b", Address: "127.0.0.1:9001", URL: "http://b", Status: "alive", Peer: &peerName,
			Version: "v", CatalogDigest: "d", Since: at, Self: true},
			`{"name":"b","address":"127.0.0.1:9001","url":"http://b","status":"alive","peer":"pb","version":"v",` +
				`"catalog_digest":"d","since":` + T + `,"self":true}`},
		{"member no peer", Member{}, `{"name":"","address":"","url":"","status":"","peer":null,"version":"",` +
			`"catalog_digest":"","since":"0001-01-01T00:00:00Z","self":false}`},
		{"info", Info{Name: "a", Version: "v", GossipAddress: "127.0.0.1:9000", URL: "http://a", CatalogDigest: "c",
			RegistryDigest: "r", Members: 2, Peers: 1},
			`{"name":"a","version":"v","gossip_address":"127.0.0.1:9000","url":"http://a","catalog_digest":"c",` +
				`"registry_digest":"r","members":2,"peers":1}`},
		{"server", Server{Name: "ev", Transport: "stdio", State: "ready", Error: "e", ListError: "l", ProtocolVersion: "p",
			Tools: 1, Prompts: 2, Resources: 3, ResourceTemplates: 4, Restarts: 5, Since: at, PID: 6, Status: "ready",
			Prefix: "ev", Service: "svc", Origin: "api"},
			`{"name":"ev","transport":"stdio","state":"ready","error":"e","list_error":"l","protocol_version":"p",` +
				`"tools":1,"prompts":2,"resources":3,"resource_templates":4,"restarts":5,"since":` + T +
				`,"pid":6,"status":"ready","prefix":"ev","service":"svc","origin":"api"}`},
		{"server empty", Server{}, `{"name":"","transport":"","state":"","tools":0,"prompts":0,"resources":0,` +
			`"resource_templates":0,"restarts":0,"since":"0001-01-01T00:00:00Z","status":"","prefix":"","origin":""}`},
		{"service", Service{Name: "svc", Tools: []string{"svc__echo"}, Providers: []ServiceProvider{{Node: "b",
			Status: ProviderOnline, InFlight: 2, RTTMillis: 0.5, Tools: []string{"svc__echo"}, SchemaMismatch: []string{"svc__add"}}}},
			`{"name":"svc","tools":["svc__echo"],"providers":[{"node":"b","status":"online","in_flight":2,"rtt_ms":0.5,` +
				`"tools":["svc__echo"],"schema_mismatch":["svc__add"]}]}`},
		{"service empty", Service{}, `{"name":"","tools":null,"providers":null}`},
		{"tool", Tool{Name: "echo", Description: "d", Source: "a"}, `{"name":"echo","description":"d","source":"a"}`},
		{"keyring", KeyringResult{Op: "use", Error: "e", NumNodes: 3, NumOK: 2, NumFailed: 1,
			Keys:    []KeyCount{{Key: "k", Nodes: 2, Primary: 1}},
			Nodes:   []NodeKeyResult{{Name: "a", OK: true, PrimaryKey: "k", Keys: []string{"k"}}, {Name: "b", Error: "x"}},
			Skipped: []SkippedMember{{Name: "c", Status: "dead"}}},
			`{"op":"use","error":"e","num_nodes":3,"num_ok":2,"num_failed":1,"keys":[{"key":"k","nodes":2,"primary":1}],` +
				`"nodes":[{"name":"a","ok":true,"primary_key":"k","keys":["k"]},{"name":"b","ok":false,"error":"x"}],` +
				`"skipped":[{"name":"c","status":"dead"}]}`},
		{"key", KeyRequest{Key: "k"}, `{"key":"k"}`},
		{"error", Error{Error: "unknown peer \"x\""}, `{"error":"unknown peer \"x\""}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("%T encodes as\n%s\nwant\n%s", tc.v, b, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
