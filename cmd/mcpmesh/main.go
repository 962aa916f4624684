// Command mcpmesh runs an mcpmesh node (`mcpmesh serve`) and mints tokens
// for it (`mcpmesh token`). It is thin: flags and environment become a
// config, the packages do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `mcpmesh — a cluster of MCP gateways

Usage:
  mcpmesh serve [flags]      run a node (mcpmesh serve -h lists the flags)
  mcpmesh token --username NAME [--secret S] [--exp DURATION] [--scope admin|mcp] [--group G]...
                             print a JWT for a node (HS256; default 7 days, scope admin)
  mcpmesh members            list the ring's members
  mcpmesh peers list|add|remove|set-trust
                             manage federation peers
  mcpmesh tools [--local]    list the tools a node serves
  mcpmesh call TOOL ['JSON'] call a tool and print its text content
  mcpmesh services           list the replicated services and their providers
  mcpmesh rules list|add|remove
                             manage the ring's access rules (who may call what)
  mcpmesh keyring list|install|use|remove [KEY]
                             rotate the ring's gossip keys (ring-wide)
                             (client verbs: --gateway URL or MCPMESH_GATEWAY,
                             --token JWT or MCPMESH_TOKEN, -o table|json;
                             mcpmesh VERB --help shows an example)
  mcpmesh ui [--gateway URL] [--open]
                             print (open) the dashboard's URL with a fresh admin token
  mcpmesh keygen             print a new random gossip key (base64, 32 bytes)
  mcpmesh version            print the version
  mcpmesh help               print this help

Flags may also be given as environment variables: MCPMESH_<FLAG> (e.g.
MCPMESH_DATA_DIR), and PORT, JWT_SECRET, JOIN, REDIS_URL; flags win.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "mcpmesh", version)
		return 0
	case "serve":
		err = runServe(args[1:], getenv, stderr)
	case "token":
		err = runToken(args[1:], getenv, stdout, stderr)
	case "keygen":
		err = runKeygen(args[1:], stdout)
	case "ui":
		err = runUI(args[1:], getenv, stdout, stderr)
	case "members", "peers", "tools", "call", "services", "keyring", "rules":
		return runClient(args[0], args[1:], verbEnv{getenv, stdout, stderr})
	default:
		fmt.Fprintf(stderr, "mcpmesh: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return exitStatus(args[0], err, stderr)
}

func exitStatus(cmd string, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "mcpmesh %s: %v\n", cmd, err)
	if ue := (usageError{}); errors.As(err, &ue) {
		return 2
	}
	return 1
}

// runServe runs a node until SIGINT or SIGTERM.
func runServe(args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, os.Hostname, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal now ends the process at once
	}()
	return serve(ctx, cfg, stderr)
}
