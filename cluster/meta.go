package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits of NodeMeta's fields, in bytes. Encoded, a NodeMeta never exceeds
// 2 + 4×2 + 1 + 256 + 64 + 128 + 32 + 20 = 511 bytes, under memberlist's
// 512 (TestMetaRoundTrip checks it at the limits).
const (
	MaxMetaURL     = 256
	MaxMetaVersion = 64
	MaxMetaDigest  = 128
	MaxMetaID      = 32 // a node id: 16 random bytes in hex (identity.go)
	MaxMetaHealth  = 20 // the service health digest (federation's HealthDigest)
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
	// ID is the node's identity, made once and kept in its store: the
	// ring refuses its name to a node with another id (identity.go). The
	// Node sets it; a meta given to Start or SetMeta cannot change it.
	ID string
	// ServiceHealth is an opaque, binary digest of which of the node's
	// replicated services have their upstream up (set by the federation
	// engine's owner; at most MaxMetaHealth bytes).
	ServiceHealth string
}

// encode returns the compact encoding: version byte, flags byte, then each
// field as a uvarint length and its bytes (the id, then the service health
// last: nodes from before them stop reading earlier). It refuses fields over their
// limits, so the result always fits memberlist's 512 bytes.
func (m NodeMeta) encode(leaving bool) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	flags := byte(0)
	if leaving {
		flags |= metaLeaving
	}
	b := make([]byte, 0, 11+len(m.URL)+len(m.Version)+len(m.CatalogDigest)+len(m.ID)+len(m.ServiceHealth))
	b = append(b, metaV1, flags)
	fields := []string{m.URL, m.Version, m.CatalogDigest, m.ID}
	if m.ServiceHealth != "" {
		fields = append(fields, m.ServiceHealth)
	}
	for _, s := range fields {
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
	}{{"url", m.URL, MaxMetaURL}, {"version", m.Version, MaxMetaVersion}, {"catalog digest", m.CatalogDigest, MaxMetaDigest},
		{"id", m.ID, MaxMetaID}, {"service health", m.ServiceHealth, MaxMetaHealth}} {
		if len(f.v) > f.max {
			return fmt.Errorf("node meta: %s is %d bytes, longer than %d", f.name, len(f.v), f.max)
		}
	}
	return nil
}

var errMeta = errors.New("malformed node meta")

// decodeMeta parses an encoded NodeMeta defensively. The id and the
// service health are optional (nodes from before them send none); bytes
// after the known fields are ignored (room for later versions).
func decodeMeta(b []byte) (meta NodeMeta, leaving bool, err error) {
	if len(b) == 0 {
		return NodeMeta{}, false, nil // a node that sent none
	}
	if len(b) < 2 || b[0] != metaV1 {
		return NodeMeta{}, false, errMeta
	}
	leaving = b[1]&metaLeaving != 0
	rest := b[2:]
	var fields [5]string
	for i, max := range []int{MaxMetaURL, MaxMetaVersion, MaxMetaDigest, MaxMetaID, MaxMetaHealth} {
		if i >= 3 && len(rest) == 0 {
			break
		}
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(max) || l > uint64(len(rest)-k) {
			return NodeMeta{}, false, errMeta
		}
		fields[i] = string(rest[k : k+int(l)])
		rest = rest[k+int(l):]
	}
	return NodeMeta{URL: fields[0], Version: fields[1], CatalogDigest: fields[2], ID: fields[3], ServiceHealth: fields[4]}, leaving, nil
}
