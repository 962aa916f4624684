package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits of NodeMeta's fields, in bytes. Encoded, a NodeMeta never exceeds
// 2 + 3×2 + 256 + 64 + 128 = 456 bytes, under memberlist's 512.
const (
	MaxMetaURL     = 256
	MaxMetaVersion = 64
	MaxMetaDigest  = 128
)

// metaV1 is the first byte of an encoded NodeMeta.
const metaV1 = 1

// metaLeaving is the flag a node sets in its meta just before it leaves, so
// that the others record it as left rather than dead (memberlist's leave
// event does not say which).
const metaLeaving = 1 << 0

// NodeMeta is what a node gossips about itself with every alive message.
type NodeMeta struct {
	URL           string // the node's HTTP URL
	Version       string // the node's software version
	CatalogDigest string // opaque digest of the node's local catalog
}

// encode returns the compact encoding: version byte, flags byte, then each
// field as a uvarint length and its bytes. It refuses fields over their
// limits, so the result always fits memberlist's 512 bytes.
func (m NodeMeta) encode(leaving bool) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	flags := byte(0)
	if leaving {
		flags |= metaLeaving
	}
	b := make([]byte, 0, 8+len(m.URL)+len(m.Version)+len(m.CatalogDigest))
	b = append(b, metaV1, flags)
	for _, s := range []string{m.URL, m.Version, m.CatalogDigest} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

// check refuses fields longer than their limits.
func (m NodeMeta) check() error {
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"url", m.URL, MaxMetaURL}, {"version", m.Version, MaxMetaVersion}, {"catalog digest", m.CatalogDigest, MaxMetaDigest}} {
		if len(f.v) > f.max {
			return fmt.Errorf("node meta: %s is %d bytes, longer than %d", f.name, len(f.v), f.max)
		}
	}
	return nil
}

var errMeta = errors.New("malformed node meta")

// decodeMeta parses an encoded NodeMeta defensively. Bytes after the known
// fields are ignored (room for later versions).
func decodeMeta(b []byte) (meta NodeMeta, leaving bool, err error) {
	if len(b) == 0 {
		return NodeMeta{}, false, nil // a node that sent none
	}
	if len(b) < 2 || b[0] != metaV1 {
		return NodeMeta{}, false, errMeta
	}
	leaving = b[1]&metaLeaving != 0
	rest := b[2:]
	var fields [3]string
	for i, max := range []int{MaxMetaURL, MaxMetaVersion, MaxMetaDigest} {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(max) || l > uint64(len(rest)-k) {
			return NodeMeta{}, false, errMeta
		}
		fields[i] = string(rest[k : k+int(l)])
		rest = rest[k+int(l):]
	}
	return NodeMeta{URL: fields[0], Version: fields[1], CatalogDigest: fields[2]}, leaving, nil
}
