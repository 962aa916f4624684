package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

const cursorPrefix = "mcpmesh:v1:"

// list answers one page of a list method.
func (s *Server) list(ctx context.Context, kind Kind, params json.RawMessage) (json.RawMessage, error) {
	var p struct {
		Cursor           *string `json:"cursor"`
		IncludeFederated *bool   `json:"include_federated"`
	}
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
		}
	}
	offset, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	l, err := s.backend.List(ctx, kind, ListOptions{IncludeFederated: p.IncludeFederated == nil || *p.IncludeFederated})
	if err != nil {
		return nil, err
	}
	// A well-formed cursor past the end was issued for a longer list (a
	// peer went missing between pages): the list has ended.
	offset = min(offset, len(l.Items))
	return encodePage(kind, l, offset, s.opts.PageSize), nil
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

func decodeCursor(c *string) (int, error) {
	if c == nil {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c)
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	n, nerr := strconv.Atoi(rest)
	if err != nil || !ok || nerr != nil || n < 0 {
		return 0, Errorf(CodeInvalidParams, "invalid params: invalid cursor %q", *c)
	}
	return n, nil
}

// encodePage writes {"<kind>": [...], "nextCursor": ..., "_meta": ...}
// from the items' ready-made JSON.
func encodePage(kind Kind, l *List, offset, size int) json.RawMessage {
	end := min(offset+size, len(l.Items))
	var b bytes.Buffer
	b.WriteString(`{"` + kind.String() + `":[`)
	for i, it := range l.Items[offset:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it.JSON)
	}
	b.WriteByte(']')
	if end < len(l.Items) {
		b.WriteString(`,"nextCursor":"` + encodeCursor(end) + `"`)
	}
	if len(l.Meta) > 0 {
		meta, _ := json.Marshal(l.Meta)
		b.WriteString(`,"_meta":`)
		b.Write(meta)
	}
	b.WriteByte('}')
	return b.Bytes()
}
