package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpmesh/mcpmesh/api"
)

const keyringPath = "/api/federation/keyring"

var (
	keyringListSpec = verbSpec{name: "keyring list",
		summary: "List the ring's gossip keys: how many nodes hold each and how many encrypt with it (primary).",
		example: "mcpmesh keyring list -o json"}
	keyringInstallSpec = verbSpec{name: "keyring install", args: "KEY",
		summary: "Install KEY (base64 of 16, 24 or 32 bytes) on every node; they then read gossip sealed with it.",
		example: "mcpmesh keyring install \"$(mcpmesh keygen)\""}
	keyringUseSpec = verbSpec{name: "keyring use", args: "KEY",
		summary: "Make KEY the primary key of every node (the one gossip is sealed with). Every node must hold it.",
		example: "mcpmesh keyring use 8pQCM1zP7FhxIpkDTmHV1mJo3MwS2cYh0m1jGaaNBzY="}
	keyringRemoveSpec = verbSpec{name: "keyring remove", args: "KEY",
		summary: "Remove KEY from every node. No node may still use it as its primary key.",
		example: "mcpmesh keyring remove 3pUm0nqCmbIvPL4Rtk+yC7K9Oi3s3QZ/wsn4+XyqEJk="}
)

const keyringUsage = `Usage: mcpmesh keyring list|install|use|remove [flags] [KEY]

Rotate the ring's gossip encryption key, ring-wide (every alive member):
  list           list the keys, with how many nodes hold each
  install KEY    install a new key everywhere
  use KEY        make it the primary key everywhere
  remove KEY     remove the old key everywhere

Example (rotate from key $OLD to a new key made with NEW=$(mcpmesh keygen)):
  mcpmesh keyring install "$NEW" && mcpmesh keyring use "$NEW" && mcpmesh keyring remove "$OLD"

Run 'mcpmesh keyring SUBCOMMAND --help' for its flags.
`

func runKeyring(args []string, env verbEnv) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, keyringUsage)
		return 2
	}
	specs := map[string]verbSpec{"install": keyringInstallSpec, "use": keyringUseSpec, "remove": keyringRemoveSpec}
	methods := map[string]string{"install": http.MethodPost, "use": http.MethodPut, "remove": http.MethodDelete}
	switch sub := args[0]; sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.stdout, keyringUsage)
		return 0
	case "list":
		return runVerb(keyringListSpec, 0, 0, args[1:], env, func(c *client, _ []string) error {
			raw, err := c.do(http.MethodGet, keyringPath, nil)
			return c.printKeyring(raw, err, "")
		}, nil)
	case "install", "use", "remove":
		return runVerb(specs[sub], 1, 1, args[1:], env, func(c *client, pos []string) error {
			raw, err := c.do(methods[sub], keyringPath, api.KeyRequest{Key: pos[0]})
			return c.printKeyring(raw, err, sub)
		}, nil)
	}
	fmt.Fprintf(env.stderr, "mcpmesh keyring: unknown subcommand %q\n\n%s", args[0], keyringUsage)
	return 2
}

var keyDone = map[string]string{"install": "Key installed on", "use": "Key made primary on", "remove": "Key removed from"}

// printKeyring prints a keyring answer, also the per-node results of an
// answer that failed on some nodes, and returns the failure.
func (c *client) printKeyring(raw json.RawMessage, err error, op string) error {
	var se *serverError
	if errors.As(err, &se) && len(se.body) > 0 && json.Valid(se.body) && strings.Contains(string(se.body), `"nodes"`) {
		raw = se.body // per-node results to show along with the error
	} else if err != nil {
		return err
	}
	if c.output == "json" {
		if perr := c.printJSON(raw); perr != nil {
			return perr
		}
		return err
	}
	var k api.KeyringResult
	if jerr := json.Unmarshal(raw, &k); jerr != nil {
		return errors.Join(err, fmt.Errorf("answer is not a keyring: %w", jerr))
	}
	writeKeyring(c.stdout, k, op)
	return err
}

func writeKeyring(w io.Writer, k api.KeyringResult, op string) {
	if op != "" && k.Op == op { // else a refusal that changed nothing: the keys as they are
		fmt.Fprintf(w, "%s %d of %d nodes\n\n", keyDone[op], k.NumOK, k.NumNodes)
	}
	rows := [][]string{{"KEY", "PRIMARY", "NODES"}}
	for _, key := range k.Keys {
		rows = append(rows, []string{key.Key, frac(key.Primary, k.NumOK), frac(key.Nodes, k.NumOK)})
	}
	_ = writeTable(w, rows)
	for _, n := range k.Nodes {
		if !n.OK {
			fmt.Fprintf(w, "failed: %s: %s\n", n.Name, n.Error)
		}
	}
	for _, s := range k.Skipped {
		fmt.Fprintf(w, "not asked: %s (%s)\n", s.Name, s.Status)
	}
}

func frac(a, b int) string { return strconv.Itoa(a) + "/" + strconv.Itoa(b) }

// runKeygen prints a new random 32-byte gossip key, base64.
func runKeygen(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprintln(stdout, "Usage: mcpmesh keygen\n\nPrint a new random gossip key (32 bytes, base64) for --gossip-key or mcpmesh keyring install.\n\nExample:\n  mcpmesh keyring install \"$(mcpmesh keygen)\"")
			return nil
		}
		return fmt.Errorf("takes no arguments, got %q", args)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("read random bytes: %w", err)
	}
	_, err := fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(key))
	return err
}
