package mcp

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MetaService is the _meta key that marks a tool of a replicated service
// in a node's local listing: its value is the service's name (see
// Catalog.AddEntry). A federating node lists such tools once per service,
// not once per node.
const MetaService = "mcpmesh/service"

// decorate is Decorate of one tool or prompt of source s as the catalog
// lists it: a service's tools name the service as their source and carry
// _meta["mcpmesh/service"]; everything else names the node.
func (c *Catalog) decorate(s *catSource, kind Kind, def json.RawMessage, listed string) (json.RawMessage, error) {
	if s.service == "" || kind != KindTool {
		return Decorate(def, "name", listed, c.node)
	}
	js, err := Decorate(def, "name", listed, s.service)
	if err != nil {
		return nil, err
	}
	svc, _ := json.Marshal(s.service)
	meta, _ := withFields(field(js, "_meta"), jsonField{key: MetaService, val: svc})
	out, _ := withFields(js, jsonField{key: "_meta", val: meta})
	return out, nil
}

// ServiceOf reads the service a listed tool belongs to ("" for none).
func ServiceOf(def json.RawMessage) string {
	return StringField(field(def, "_meta"), MetaService)
}

// statusSource is a source that knows whether it is connected (an
// *Upstream).
type statusSource interface {
	Status() UpstreamStatus
}

// ServiceState is one local provider of a service: its source's name and
// whether its upstream is connected.
type ServiceState struct {
	Service, Source string
	Up              bool
	Listed          bool // it lists at least one tool (so its peers know it)
}

// Services lists the node's local providers of replicated services, by
// service name. A source that cannot say counts as up.
func (c *Catalog) Services() []ServiceState {
	c.mu.RLock()
	var out []ServiceState
	for _, s := range c.sources {
		if s.service == "" {
			continue
		}
		up := true
		if ss, ok := s.src.(statusSource); ok {
			up = ss.Status().State == UpstreamReady
		}
		listed := len(s.src.Snapshot().Tools) > 0
		out = append(out, ServiceState{Service: s.service, Source: s.name, Up: up, Listed: listed})
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// ServiceUp reports whether the node runs a provider of service and its
// upstream is connected.
func (c *Catalog) ServiceUp(service string) bool {
	for _, s := range c.Services() {
		if s.Service == service {
			return s.Up
		}
	}
	return false
}

// WithMeta is def with _meta[key] set to val (a _meta that is not an
// object is replaced).
func WithMeta(def json.RawMessage, key string, val any) (json.RawMessage, error) {
	if !isObject(def) {
		return nil, fmt.Errorf("definition is not a JSON object")
	}
	v, err := json.Marshal(val)
	if err != nil {
		return nil, err
	}
	meta, ok := withFields(field(def, "_meta"), jsonField{key: key, val: v})
	if !ok {
		meta, _ = withFields(nil, jsonField{key: key, val: v})
	}
	out, _ := withFields(def, jsonField{key: "_meta", val: meta})
	return out, nil
}

// Field is one top-level field of a JSON object, as it is written there
// (nil when absent).
func Field(obj json.RawMessage, key string) json.RawMessage { return field(obj, key) }

// WithField is obj with key set to val as written, or dropped when val is
// nil; obj itself when it is not an object.
func WithField(obj json.RawMessage, key string, val json.RawMessage) json.RawMessage {
	out, ok := withFields(obj, jsonField{key: key, val: val})
	if !ok {
		return obj
	}
	return out
}
