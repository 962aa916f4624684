package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/store/memstore"
)

func TestStartRefusesBadConfig(t *testing.T) {
	good := func() Config { return Config{Name: "n1", BindAddr: "127.0.0.1:0", Store: memstore.New()} }
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"empty name", func(c *Config) { c.Name = "" }, "node name"},
		{"bad name", func(c *Config) { c.Name = "a b" }, "node name"},
		{"no store", func(c *Config) { c.Store = nil }, "store is required"},
		{"bad key", func(c *Config) { c.SecretKey = []byte("short") }, "16, 24 or 32"},
		{"long label", func(c *Config) { c.Label = strings.Repeat("l", 256) }, "label"},
		{"bind no port", func(c *Config) { c.BindAddr = "127.0.0.1" }, "bind address"},
		{"bind hostname", func(c *Config) { c.BindAddr = "example.com:1" }, "IP address"},
		{"bind bad port", func(c *Config) { c.BindAddr = "127.0.0.1:70000" }, "port"},
		{"bad advertise", func(c *Config) { c.AdvertiseAddr = "nope" }, "advertise address"},
		{"oversized meta", func(c *Config) { c.Meta.URL = strings.Repeat("u", 300) }, "url is 300 bytes"},
		{"probe timeout", func(c *Config) { c.Timings.ProbeInterval = 100; c.Timings.ProbeTimeout = 200 }, "probe timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			n, err := Start(context.Background(), c)
			if err == nil {
				_ = n.Shutdown()
				t.Fatal("Start accepted a bad config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestStartOnLocalhostAndAdvertise(t *testing.T) {
	var logs bytes.Buffer
	c := Config{Name: "n1", BindAddr: "localhost:0", AdvertiseAddr: "127.0.0.1:0", Store: memstore.New(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	n, err := Start(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown()
	if addr := n.GossipAddr(); !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("GossipAddr = %q, want the bound loopback port", addr)
	}
	if !strings.Contains(logs.String(), "not encrypted") {
		t.Fatal("unencrypted gossip was not logged")
	}
}

func TestDeriveKey(t *testing.T) {
	a, b := DeriveKey([]byte("secret-one")), DeriveKey([]byte("secret-two"))
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, DeriveKey([]byte("secret-one"))) {
		t.Fatal("DeriveKey must give 32 bytes, the same for the same secret and different for different secrets")
	}
}

func TestTimingsDefaults(t *testing.T) {
	got := Timings{ProbeInterval: 700}.withDefaults()
	if got.ProbeInterval != 700 || got.RetransmitMult != DefaultTimings().RetransmitMult {
		t.Fatalf("withDefaults = %+v", got)
	}
	d := DefaultTimings()
	if d.RetransmitMult < 4 || d.ProbeInterval > 1e9 {
		t.Fatal("the defaults must keep RetransmitMult >= 4 and ProbeInterval <= 1s")
	}
	for name, tm := range map[string]Timings{"default": d, "test": TestTimings()} {
		if err := tm.validate(); err != nil {
			t.Fatalf("%s timings invalid: %v", name, err)
		}
	}
}

func TestMemberlistLogLines(t *testing.T) {
	var buf bytes.Buffer
	var suspected []string
	l := newMemberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		func(n string) { suspected = append(suspected, n) })
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: x)")
	l.Printf("[INFO] memberlist: Suspect node-7 has failed, no acks received")
	l.Printf("[ERR] memberlist: boom")
	l.Printf("no level at all")
	out := buf.String()
	for _, want := range []string{"level=WARN msg=\"Refuting", "level=INFO msg=\"Suspect node-7", "level=ERROR msg=boom", "level=INFO msg=\"no level"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log output lacks %q:\n%s", want, out)
		}
	}
	if len(suspected) != 1 || suspected[0] != "node-7" {
		t.Fatalf("suspected = %v, want [node-7]", suspected)
	}
}

func TestEventQueueDropsOldest(t *testing.T) {
	q := newEventQueue(2)
	for i := range 5 {
		q.push(Event{Type: EventType(i + 1)})
	}
	if got := q.dropped.Load(); got != 3 {
		t.Fatalf("dropped %d, want 3", got)
	}
	if a, b := <-q.ch, <-q.ch; a.Type != 4 || b.Type != 5 {
		t.Fatalf("kept %v, %v; want the newest two", a.Type, b.Type)
	}
	q.close()
	q.push(Event{Type: MemberJoin}) // after close: ignored, no panic
	if _, ok := <-q.ch; ok {
		t.Fatal("channel not closed")
	}
	if MemberJoin.String() != "member-join" || EventType(99).String() != "unknown" {
		t.Fatal("EventType.String")
	}
}
