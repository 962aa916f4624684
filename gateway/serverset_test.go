package gateway

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestServerViewCarriesUpstreamStatus checks that /api/servers shows every
// field of an upstream's status (mcp.UpstreamStatus) under its own JSON
// name: api.Server copies them one by one, so a field added to the status
// and not to api.Server fails here instead of vanishing from the wire.
func TestServerViewCarriesUpstreamStatus(t *testing.T) {
	var st upstreamStatus
	v := reflect.ValueOf(&st).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2026, 7, 28, 0, 0, i, 0, time.UTC)))
		default:
			t.Fatalf("UpstreamStatus.%s is a %s; teach this test to fill it", v.Type().Field(i).Name, f.Kind())
		}
	}
	want, got := jsonFields(t, st), jsonFields(t, serverView(st, "p", "api"))
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("api.Server field %q = %v, want %v (from mcp.UpstreamStatus)", k, got[k], w)
		}
	}
	if got["status"] != want["state"] || got["prefix"] != "p" || got["origin"] != "api" {
		t.Errorf("status, prefix, origin = %v, %v, %v; want the state, p, api", got["status"], got["prefix"], got["origin"])
	}
}

func jsonFields(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	return m
}

// TestServerViewProtocolVersion: until the server has connected,
// protocol_version shows the version its entry asks for; once connected,
// the negotiated one (cmd/mcpmesh's TestUpstreamProtocolVersionEntry).
func TestServerViewProtocolVersion(t *testing.T) {
	for _, asked := range []string{"", "2025-11-25", "2026-07-28"} {
		t.Run("asked "+asked, func(t *testing.T) {
			cfg := serverConfig{Name: "later", Command: "/nonexistent", ProtocolVersion: asked}
			up := mcp.NewUpstream(cfg, mcp.UpstreamOptions{}) // not started: connecting
			t.Cleanup(func() { _ = up.Close() })
			e := &serverEntry{cfg: cfg, origin: originAPI, up: up}
			if v := e.view(); v.State != mcp.UpstreamConnecting || v.ProtocolVersion != asked {
				t.Errorf("view = state %q, protocol_version %q; want connecting, %q", v.State, v.ProtocolVersion, asked)
			}
		})
	}
}
