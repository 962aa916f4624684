package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// uiState is what the dashboard shows of the node at one moment: the
// members of its ring, its peers, the access rules, the tools it lists and
// the services. /api/events sends it whole first, then what changed.
type uiState struct {
	Node     string            `json:"node"`
	Version  string            `json:"version"`
	Members  []api.Member      `json:"members"`
	Peers    []api.Peer        `json:"peers"`
	Rules    []api.Rule        `json:"rules"`
	Tools    []json.RawMessage `json:"tools"`
	Services []api.Service     `json:"services"`
}

// uiSections are the parts of a uiState sent whole when they change, each
// as an event of its name.
var uiSections = []string{"peers", "rules", "tools", "services"}

// section returns the part of s named by one of uiSections.
func (s *uiState) section(name string) any {
	switch name {
	case "peers":
		return s.Peers
	case "rules":
		return s.Rules
	case "tools":
		return s.Tools
	}
	return s.Services
}

// uiState reads the node's state as the dashboard shows it.
func (g *Gateway) uiState() *uiState {
	s := &uiState{Node: g.name, Version: g.version, Members: []api.Member{}, Peers: []api.Peer{},
		Rules: []api.Rule{}, Tools: g.uiTools()}
	if g.node == nil || g.fed == nil {
		s.Services = g.localServices()
		return s
	}
	s.Members = g.members()
	s.Peers = steadyPeers(g.fed.Peers())
	s.Rules = nonNil(g.fed.Rules())
	s.Services = g.fed.Services(context.Background())
	return s
}

// uiTools is every tool the node lists, federated ones included, as no
// access rule restricts it.
func (g *Gateway) uiTools() []json.RawMessage {
	ctx := federation.WithUnrestricted(context.Background())
	l, err := g.backend.List(ctx, mcp.KindTool, mcp.ListOptions{IncludeFederated: true})
	out := []json.RawMessage{}
	if err != nil {
		return out
	}
	for _, it := range l.Items {
		out = append(out, it.JSON)
	}
	return out
}

// steadyPeers drops last_seen while a peer's member is alive or suspect:
// there it is always "now", which would make every look a change.
func steadyPeers(ps []api.Peer) []api.Peer {
	if ps == nil {
		return []api.Peer{}
	}
	for i := range ps {
		if ps[i].Status != api.PeerOffline && ps[i].Status != api.PeerLeft {
			ps[i].LastSeen = nil
		}
	}
	return ps
}

// memberChange is the data of a "member" event: a member joined, changed
// state (from is its state before), changed otherwise (update), or was
// forgotten (leave).
type memberChange struct {
	Change string     `json:"change"` // join, state, update, leave
	From   string     `json:"from,omitempty"`
	Member api.Member `json:"member"`
}

// memberChanges lists what changed between two member lists.
func memberChanges(prev, cur []api.Member) []memberChange {
	var out []memberChange
	for _, m := range cur {
		i := slices.IndexFunc(prev, func(p api.Member) bool { return p.Name == m.Name })
		switch {
		case i < 0:
			out = append(out, memberChange{Change: "join", Member: m})
		case prev[i].Status != m.Status:
			out = append(out, memberChange{Change: "state", From: prev[i].Status, Member: m})
		case !sameJSON(prev[i], m):
			out = append(out, memberChange{Change: "update", Member: m})
		}
	}
	for _, p := range prev {
		if !slices.ContainsFunc(cur, func(m api.Member) bool { return m.Name == p.Name }) {
			out = append(out, memberChange{Change: "leave", Member: p})
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
