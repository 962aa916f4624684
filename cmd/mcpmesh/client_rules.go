package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpmesh/mcpmesh/api"
)

var (
	rulesListSpec = verbSpec{name: "rules list", summary: "List the access rules (the ring-wide registry).",
		example: "mcpmesh rules list -o json"}
	rulesAddSpec = verbSpec{name: "rules add",
		args:    "NAME --effect allow|deny --principal P... --tool GLOB... [--rate N/s|m|h]",
		summary: "Add an access rule (principals: user:SUB, group:NAME or *; tools: globs over canonical names and URIs).",
		example: "mcpmesh rules add team-a --effect allow --principal group:team-a --tool 'a__*' --tool 'svc__*' --rate 10/s"}
	rulesRemoveSpec = verbSpec{name: "rules remove", args: "NAME", summary: "Remove an access rule.",
		example: "mcpmesh rules remove team-a"}
)

const rulesUsage = `Usage: mcpmesh rules list|add|remove [flags] [args]

  list                         list the access rules
  add NAME --effect allow|deny --principal P [--principal P]... --tool GLOB [--tool GLOB]... [--rate N/s|m|h]
                               add a rule
  remove NAME                  remove a rule

Example:
  mcpmesh rules add team-a --effect allow --principal group:team-a --tool 'a__*'

Run 'mcpmesh rules SUBCOMMAND --help' for its flags.
`

func runRules(args []string, env verbEnv) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.stdout, rulesUsage)
		return 0
	case "list":
		return runVerb(rulesListSpec, 0, 0, args[1:], env, runRulesList, nil)
	case "add":
		var r api.Rule
		var principals, tools groupList
		return runVerb(rulesAddSpec, 1, 1, args[1:], env, func(c *client, pos []string) error {
			r.Name, r.Principals, r.Tools = pos[0], principals, tools
			return runRulesAdd(c, r)
		}, func(fs *flag.FlagSet) {
			fs.StringVar(&r.Effect, "effect", "", "allow or deny (required)")
			fs.Var(&principals, "principal", "user:SUB, group:NAME or * (repeatable, at least one)")
			fs.Var(&tools, "tool", "a glob over canonical tool and prompt names and resource URIs (repeatable, at least one)")
			fs.StringVar(&r.Rate, "rate", "", "allow rules only: at most N calls per principal and tool, N/s, N/m or N/h")
		})
	case "remove":
		return runVerb(rulesRemoveSpec, 1, 1, args[1:], env, runRulesRemove, nil)
	}
	fmt.Fprintf(env.stderr, "mcpmesh rules: unknown subcommand %q\n\n%s", args[0], rulesUsage)
	return 2
}

var ruleHeader = []string{"NAME", "EFFECT", "PRINCIPALS", "TOOLS", "RATE", "UPDATED_BY"}

func ruleRow(r api.Rule) []string {
	return []string{r.Name, r.Effect, strings.Join(r.Principals, ","), cut(strings.Join(r.Tools, ","), 60), r.Rate, r.UpdatedBy}
}

func runRulesList(c *client, _ []string) error {
	var rules []api.Rule
	raw, err := c.getJSON("/api/policy/rules", &rules)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	rows := [][]string{ruleHeader}
	for _, r := range rules {
		rows = append(rows, ruleRow(r))
	}
	return c.table(rows)
}

func runRulesAdd(c *client, r api.Rule) error {
	body := map[string]any{"name": r.Name, "effect": r.Effect, "principals": r.Principals, "tools": r.Tools}
	if r.Rate != "" {
		body["rate"] = r.Rate
	}
	raw, err := c.do(http.MethodPost, "/api/policy/rules", body)
	if err != nil || c.output == "json" {
		return c.orJSON(raw, err)
	}
	var out api.Rule
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("answer is not a rule: %w", err)
	}
	return c.table([][]string{ruleHeader, ruleRow(out)})
}

func runRulesRemove(c *client, pos []string) error {
	if _, err := c.do(http.MethodDelete, "/api/policy/rules/"+url.PathEscape(pos[0]), nil); err != nil {
		return err
	}
	if c.output == "table" {
		fmt.Fprintf(c.stdout, "rule %s removed\n", pos[0])
	}
	return nil
}
