package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/policy"
)

// listRules is GET /api/policy/rules: a bare array of the ring's rules.
func (g *Gateway) listRules(c *gin.Context) {
	c.JSON(http.StatusOK, nonNil(g.fed.Rules()))
}

func nonNil(r []api.Rule) []api.Rule {
	if r == nil {
		return []api.Rule{}
	}
	return r
}

// getRule is GET /api/policy/rules/{name}.
func (g *Gateway) getRule(c *gin.Context) {
	r, err := g.fed.Rule(c.Param("name"))
	if err != nil {
		abortJSON(c, ruleStatus(err), err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// addRule is POST /api/policy/rules: 201 with the rule as written.
func (g *Gateway) addRule(c *gin.Context) {
	var in struct {
		Name       string   `json:"name"`
		Effect     string   `json:"effect"`
		Principals []string `json:"principals"`
		Tools      []string `json:"tools"`
		Rate       string   `json:"rate"`
	}
	if err := decodeStrict(c.Request.Body, &in, "name, effect, principals, tools, rate"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	body := api.Rule{Name: in.Name, Effect: in.Effect, Principals: in.Principals, Tools: in.Tools, Rate: in.Rate}
	r, err := g.fed.AddRule(body)
	if err != nil {
		abortJSON(c, ruleStatus(err), err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

// patchRule is PATCH /api/policy/rules/{name}.
func (g *Gateway) patchRule(c *gin.Context) {
	var body api.RulePatch
	if err := decodeStrict(c.Request.Body, &body, "effect, principals, tools, rate"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	r, err := g.fed.PatchRule(c.Param("name"), body)
	if err != nil {
		abortJSON(c, ruleStatus(err), err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// deleteRule is DELETE /api/policy/rules/{name}: 204.
func (g *Gateway) deleteRule(c *gin.Context) {
	if err := g.fed.DeleteRule(c.Param("name")); err != nil {
		abortJSON(c, ruleStatus(err), err)
		return
	}
	c.Status(http.StatusNoContent)
}

func ruleStatus(err error) int {
	switch {
	case federation.IsRuleInput(err):
		return http.StatusBadRequest
	case errors.Is(err, federation.ErrRuleExists):
		return http.StatusConflict
	case errors.Is(err, federation.ErrRuleUnknown):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// rulesChanged is the engine's OnRulesChanged hook: it tells the sessions
// and listen streams of /mcp and of every /mcp/peers/{peer} whose lists
// the change altered.
func (g *Gateway) rulesChanged(before, after *policy.Set) {
	notifyRuleChange(g.mcp, g.backend, before, after)
	ps := &g.peerMCP
	ps.mu.Lock()
	peers := make([]*peerServer, 0, len(ps.byName))
	for _, p := range ps.byName {
		peers = append(peers, p)
	}
	ps.mu.Unlock()
	for _, p := range peers {
		notifyRuleChange(p.srv, p.view, before, after)
	}
}

func notifyRuleChange(srv *mcp.Server, b mcp.Backend, before, after *policy.Set) {
	guard, ok := b.(*federation.Guard)
	if srv == nil || !ok {
		return
	}
	for _, k := range []mcp.Kind{mcp.KindTool, mcp.KindPrompt} {
		srv.NotifyListChangedFor(k, guard.ListChanged(k, before, after))
	}
	res := guard.ListChanged(mcp.KindResource, before, after)
	tmpl := guard.ListChanged(mcp.KindResourceTemplate, before, after)
	srv.NotifyListChangedFor(mcp.KindResource, func(p mcp.Principal) bool { return res(p) || tmpl(p) })
}
