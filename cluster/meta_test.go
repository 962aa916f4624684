package cluster

import (
	"bytes"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		meta    NodeMeta
		leaving bool
	}{
		{"empty", NodeMeta{}, false},
		{"typical", NodeMeta{URL: "http://127.0.0.1:8000", Version: "0.3.0", CatalogDigest: "sha256:abc"}, false},
		{"leaving", NodeMeta{URL: "http://h:1"}, true},
		{"at the limits", NodeMeta{URL: strings.Repeat("u", MaxMetaURL), Version: strings.Repeat("v", MaxMetaVersion), CatalogDigest: strings.Repeat("d", MaxMetaDigest),
			ID: strings.Repeat("i", MaxMetaID), ServiceHealth: strings.Repeat("\xff", MaxMetaHealth)}, true},
		{"service health without id", NodeMeta{URL: "http://h:1", ServiceHealth: "\x01\x02"}, false},
		{"with a node id", NodeMeta{URL: "http://h:1", ID: "0123456789abcdef0123456789abcdef"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.meta.encode(tt.leaving)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if len(b) > 512 {
				t.Fatalf("encoded meta is %d bytes, over memberlist's 512", len(b))
			}
			got, leaving, err := decodeMeta(b)
			if err != nil || got != tt.meta || leaving != tt.leaving {
				t.Fatalf("decode = %+v, %v, %v; want %+v, %v", got, leaving, err, tt.meta, tt.leaving)
			}
		})
	}
}

func TestMetaRefusesOversizedFields(t *testing.T) {
	tests := []struct {
		name string
		meta NodeMeta
		want string
	}{
		{"url", NodeMeta{URL: strings.Repeat("u", MaxMetaURL+1)}, "url is 257 bytes"},
		{"version", NodeMeta{Version: strings.Repeat("v", MaxMetaVersion+1)}, "version is 65 bytes"},
		{"digest", NodeMeta{CatalogDigest: strings.Repeat("d", MaxMetaDigest+1)}, "catalog digest is 129 bytes"},
		{"id", NodeMeta{ID: strings.Repeat("i", MaxMetaID+1)}, "id is 33 bytes"},
		{"service health", NodeMeta{ServiceHealth: strings.Repeat("h", MaxMetaHealth+1)}, "service health is 21 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.meta.encode(false); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("encode error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDecodeMetaWithoutID: the meta of a node from before node ids (three
// fields) decodes with no id.
func TestDecodeMetaWithoutID(t *testing.T) {
	old := []byte{metaV1, 0, 3, 'u', 'r', 'l', 1, 'v', 1, 'd'}
	if m, _, err := decodeMeta(old); err != nil || m != (NodeMeta{URL: "url", Version: "v", CatalogDigest: "d"}) {
		t.Fatalf("decodeMeta(old meta) = %+v, %v", m, err)
	}
}

func TestDecodeMetaMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":          {metaV1},
		"wrong version":  {9, 0, 0, 0, 0},
		"length too big": {metaV1, 0, 200, 'a'},
		"over the limit": append([]byte{metaV1, 0, 0x81, 0x02}, bytes.Repeat([]byte("u"), 257)...),
		"truncated":      {metaV1, 0, 1, 'a', 1},
		"bad varint":     {metaV1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"id too long":    append([]byte{metaV1, 0, 0, 0, 0, 33}, bytes.Repeat([]byte("i"), 33)...),
		"id truncated":   {metaV1, 0, 0, 0, 0, 4, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			if m, _, err := decodeMeta(b); err == nil {
				t.Fatalf("decodeMeta accepted %v as %+v", b, m)
			}
		})
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := NodeMeta{URL: "http://x:1", Version: "1", CatalogDigest: "d", ID: "0123456789abcdef0123456789abcdef"}.encode(true)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{metaV1, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, leaving, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := m.encode(leaving)
		if err != nil {
			t.Fatalf("decoded meta %+v does not encode: %v", m, err)
		}
		if m2, l2, _ := decodeMeta(again); m2 != m || l2 != leaving {
			t.Fatalf("round trip changed %+v to %+v", m, m2)
		}
	})
}
