package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/mcpmesh/mcpmesh/api"
)

// runClient runs a client verb and returns its exit status.
func runClient(verb string, args []string, env verbEnv) int {
	switch verb {
	case "members":
		return runVerb(membersSpec, 0, 0, args, env, runMembers, nil)
	case "peers":
		return runPeers(args, env)
	case "tools":
		local := false
		return runVerb(toolsSpec, 0, 0, args, env, func(c *client, _ []string) error { return runTools(c, local) },
			func(fs *flag.FlagSet) { fs.BoolVar(&local, "local", false, "list only this node's own tools") })
	case "call":
		return runVerb(callSpec, 1, 2, args, env, runCall, nil)
	case "services":
		return runVerb(servicesSpec, 0, 0, args, env, runServices, nil)
	case "keyring":
		return runKeyring(args, env)
	case "rules":
		return runRules(args, env) // client_rules.go
	}
	fmt.Fprintf(env.stderr, "mcpmesh: unknown client verb %q\n", verb)
	return 2
}

var (
	membersSpec = verbSpec{name: "members", summary: "List the members of the ring as this node sees them.",
		example: "mcpmesh members --gateway http://127.0.0.1:8000 -o json"}
	toolsSpec = verbSpec{name: "tools", args: "[--local]",
		summary: "List the tools this node serves: its own and, unless --local, its peers' (PEER__tool).",
		example: "mcpmesh tools --local"}
)

func runMembers(c *client, _ []string) error {
	var members []api.Member
	raw, err := c.getJSON("/api/federation/members", &members)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	rows := [][]string{{"NAME", "ADDRESS", "STATUS", "PEER", "URL"}}
	for _, m := range members {
		peer := "-"
		if m.Peer != nil {
			peer = *m.Peer
		}
		rows = append(rows, []string{m.Name, m.Address, m.Status, peer, m.URL})
	}
	return c.table(rows)
}

func runTools(c *client, local bool) error {
	var tools []api.Tool
	path := "/api/tools?include_federated=" + strconv.FormatBool(!local)
	raw, err := c.getJSON(path, &tools)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	rows := [][]string{{"NAME", "SOURCE", "DESCRIPTION"}}
	for _, t := range tools {
		rows = append(rows, []string{t.Name, t.Source, cut(t.Description, 60)})
	}
	return c.table(rows)
}

var servicesSpec = verbSpec{name: "services",
	summary: "List the replicated services this node lists and their providers (one row per provider).",
	example: "mcpmesh services -o json"}

func runServices(c *client, _ []string) error {
	var services []api.Service
	raw, err := c.getJSON("/api/services", &services)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	rows := [][]string{{"SERVICE", "TOOLS", "NODE", "STATUS", "IN_FLIGHT", "RTT_MS", "SCHEMA_MISMATCH"}}
	for _, s := range services {
		for _, p := range s.Providers {
			rtt, mismatch := "-", "-"
			if p.RTTMillis > 0 {
				rtt = strconv.FormatFloat(p.RTTMillis, 'f', 2, 64)
			}
			if len(p.SchemaMismatch) > 0 {
				mismatch = strings.Join(p.SchemaMismatch, ",")
			}
			rows = append(rows, []string{s.Name, strconv.Itoa(len(s.Tools)), p.Node, p.Status, strconv.Itoa(p.InFlight), rtt, mismatch})
		}
	}
	return c.table(rows)
}

// peers

var (
	peersListSpec = verbSpec{name: "peers list", summary: "List the federation peers (the ring-wide registry).",
		example: "mcpmesh peers list -o json"}
	peersAddSpec = verbSpec{name: "peers add", args: "URL [--name NAME] [--trust full|discover|none]",
		summary: "Federate with the node at URL (a ring member's HTTP URL).",
		example: "mcpmesh peers add http://127.0.0.1:8001 --name east --trust full"}
	peersRemoveSpec = verbSpec{name: "peers remove", args: "NAME", summary: "Remove a peer.",
		example: "mcpmesh peers remove east"}
	peersTrustSpec = verbSpec{name: "peers set-trust", args: "NAME full|discover|none",
		summary: "Change a peer's trust level (full: list and call; discover: list only; none: neither).",
		example: "mcpmesh peers set-trust east discover"}
)

const peersUsage = `Usage: mcpmesh peers list|add|remove|set-trust [flags] [args]

  list                         list the peers
  add URL [--name N] [--trust full|discover|none]
                               add a peer
  remove NAME                  remove a peer
  set-trust NAME LEVEL         set a peer's trust level

Example:
  mcpmesh peers add http://127.0.0.1:8001 --name east --trust full

Run 'mcpmesh peers SUBCOMMAND --help' for its flags.
`

func runPeers(args []string, env verbEnv) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, peersUsage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.stdout, peersUsage)
		return 0
	case "list":
		return runVerb(peersListSpec, 0, 0, args[1:], env, runPeersList, nil)
	case "add":
		var name, trust string
		return runVerb(peersAddSpec, 1, 1, args[1:], env, func(c *client, pos []string) error {
			return runPeersAdd(c, pos[0], name, trust)
		}, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "peer name (default: the member's name)")
			fs.StringVar(&trust, "trust", "", "trust level: full, discover or none (default: the node's default)")
		})
	case "remove":
		return runVerb(peersRemoveSpec, 1, 1, args[1:], env, runPeersRemove, nil)
	case "set-trust":
		return runVerb(peersTrustSpec, 2, 2, args[1:], env, runPeersSetTrust, nil)
	}
	fmt.Fprintf(env.stderr, "mcpmesh peers: unknown subcommand %q\n\n%s", args[0], peersUsage)
	return 2
}

var peerHeader = []string{"NAME", "URL", "MEMBER", "TRUST", "STATUS", "TOOLS"}

func peerRow(p api.Peer) []string {
	return []string{p.Name, p.URL, p.Member, p.TrustLevel, p.Status, strconv.Itoa(p.Tools)}
}

func runPeersList(c *client, _ []string) error {
	var peers []api.Peer
	raw, err := c.getJSON("/api/federation/peers", &peers)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	rows := [][]string{peerHeader}
	for _, p := range peers {
		rows = append(rows, peerRow(p))
	}
	return c.table(rows)
}

func runPeersAdd(c *client, peerURL, name, trust string) error {
	body := api.AddPeerRequest{URL: peerURL, Name: name, TrustLevel: trust}
	raw, err := c.do(http.MethodPost, "/api/federation/peers", body)
	return c.printPeer(raw, err)
}

func runPeersSetTrust(c *client, pos []string) error {
	raw, err := c.do(http.MethodPatch, peerPath(pos[0]), api.TrustRequest{TrustLevel: pos[1]})
	return c.printPeer(raw, err)
}

func runPeersRemove(c *client, pos []string) error {
	if _, err := c.do(http.MethodDelete, peerPath(pos[0]), nil); err != nil {
		return err
	}
	if c.output == "table" {
		fmt.Fprintf(c.stdout, "peer %s removed\n", pos[0])
	}
	return nil
}

func peerPath(name string) string { return "/api/federation/peers/" + url.PathEscape(name) }

// printPeer prints one peer record as a one-row table or as JSON.
func (c *client) printPeer(raw json.RawMessage, err error) error {
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	var p api.Peer
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("answer is not a peer record: %w", err)
	}
	return c.table([][]string{peerHeader, peerRow(p)})
}

// output helpers

// orJSON returns err, or prints raw as JSON.
func (c *client) orJSON(raw json.RawMessage, err error) error {
	if err != nil {
		return err
	}
	return c.printJSON(raw)
}

// table prints rows aligned; the first row is the header.
func (c *client) table(rows [][]string) error {
	return writeTable(c.stdout, rows)
}

func writeTable(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, cell := range row {
			if cells[i] = cleanCell(cell); cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cleanCell turns control characters (tabs, newlines) into spaces so that
// a hostile name cannot break the table.
func cleanCell(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// cut shortens s to at most n runes (first line only), marking a cut
// with "…".
func cut(s string, n int) string {
	s, _, more := strings.Cut(strings.TrimSpace(s), "\n")
	r := []rune(strings.TrimSpace(s))
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	if more {
		return string(r) + " …"
	}
	return string(r)
}
