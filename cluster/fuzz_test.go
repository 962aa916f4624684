package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// offlineNode is a Node without gossip: enough for its delegate's message
// and state handling.
func offlineNode(t testing.TB) *Node {
	t.Helper()
	cfg, err := Config{Name: "fuzz", BindAddr: "127.0.0.1:0", Store: memstore.New()}.prepare()
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// validRecordMsg is a well-formed broadcast from another node.
func validRecordMsg(t testing.TB) []byte {
	r, _ := NewRegistry("other", nil, nil)
	var msg []byte
	r.broadcast = func(_ string, m []byte) { msg = m }
	if _, err := r.Put(peer("gateway-b", "node-b")); err != nil {
		t.Fatal(err)
	}
	return msg
}

// hostileInputs are seeds for both fuzz targets and the hostile-input test.
func hostileInputs(t testing.TB) map[string][]byte {
	good := validRecordMsg(t)
	state, _ := encodeState([]PeerRecord{})
	return map[string][]byte{
		"empty":             {},
		"unknown type":      {0x7f, '{', '}'},
		"record not json":   append([]byte{msgRecord}, "{nope"...),
		"record wrong type": append([]byte{msgRecord}, `{"name":5}`...),
		"record bad name":   bytes.Replace(good, []byte(`"gateway-b"`), []byte(`"Gateway__B"`), 1),
		"record bad trust":  bytes.Replace(good, []byte(`"full"`), []byte(`"root"`), 1),
		"record no writer":  bytes.Replace(good, []byte(`"writer":"other"`), []byte(`"writer":""`), 1),
		"record far future": bytes.Replace(good, []byte(`"wall":1`), []byte(`"wall":9`), 1),
		"record huge":       append(append([]byte{msgRecord}, `{"url":"`...), bytes.Repeat([]byte("a"), 5000)...),
		"record json bomb":  append([]byte{msgRecord}, strings.Repeat("[", 100000)...),
		"state not json":    append([]byte{msgState}, "]]"...),
		"state bad records": append([]byte{msgState}, `{"records":[1,"x",{"name":"Bad"},null]}`...),
		"state empty":       state,
		"state json bomb":   append([]byte{msgState}, strings.Repeat(`{"records":`, 50000)...),
		"state huge":        append([]byte{msgState}, bytes.Repeat([]byte(" "), maxStateBytes)...),
		"state many":        append([]byte{msgState}, []byte(`{"records":[`+strings.Repeat("{},", maxStateRecords)+`{}]}`)...),
		"good record":       good,
	}
}

func TestHostileGossipIsDropped(t *testing.T) {
	for name, in := range hostileInputs(t) {
		if name == "good record" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			n := offlineNode(t)
			d := &delegate{n: n}
			d.NotifyMsg(in)
			d.MergeRemoteState(in, false)
			d.MergeRemoteState(in, true)
			if got := n.reg.All(); len(got) != 0 {
				t.Fatalf("hostile input was merged: %+v", got)
			}
			if n.queue.NumQueued() != 0 {
				t.Fatal("hostile input was re-broadcast")
			}
		})
	}
}

func TestGoodGossipIsMerged(t *testing.T) {
	n := offlineNode(t)
	d := &delegate{n: n}
	d.NotifyMsg(validRecordMsg(t))
	if _, ok := n.reg.Get("gateway-b"); !ok || n.queue.NumQueued() != 1 {
		t.Fatalf("a valid broadcast was not merged and re-broadcast: %v, queued %d", n.reg.All(), n.queue.NumQueued())
	}
	other := offlineNode(t)
	(&delegate{n: other}).MergeRemoteState(d.LocalState(false), false)
	if other.reg.Digest() != n.reg.Digest() {
		t.Fatal("push-pull did not carry the registry")
	}
}

func FuzzNotifyMsg(f *testing.F) {
	for _, in := range hostileInputs(f) {
		if len(in) <= maxMsgBytes {
			f.Add(in)
		}
	}
	n := offlineNode(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		(&delegate{n: n}).NotifyMsg(msg)
		checkRegistry(t, n.reg)
	})
}

func FuzzMergeRemoteState(f *testing.F) {
	for _, in := range hostileInputs(f) {
		if len(in) < 64<<10 {
			f.Add(in)
		}
	}
	good := validRecordMsg(f)
	f.Add(append([]byte{msgState}, fmt.Sprintf(`{"records":[%s]}`, good[1:])...))
	n := offlineNode(f)
	f.Fuzz(func(t *testing.T, buf []byte) {
		(&delegate{n: n}).MergeRemoteState(buf, false)
		checkRegistry(t, n.reg)
	})
}

// checkRegistry fails if the registry holds a record that is not valid.
func checkRegistry(t *testing.T, r *Registry) {
	for _, rec := range r.All() {
		if err := rec.check(); err != nil {
			t.Fatalf("registry holds an invalid record %+v: %v", rec, err)
		}
		if _, err := json.Marshal(rec); err != nil {
			t.Fatalf("registry holds a record that cannot be encoded: %v", err)
		}
	}
}
