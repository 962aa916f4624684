package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
)

func (g *Gateway) listKeyring(c *gin.Context) {
	g.answerKeyring(c, g.fanOutKeyOp(c.Request.Context(), keyOpList, ""))
}

func (g *Gateway) installKey(c *gin.Context) {
	if key, ok := keyFromBody(c); ok {
		g.answerKeyring(c, g.fanOutKeyOp(c.Request.Context(), keyOpInstall, key))
	}
}

// useKey makes a key primary everywhere, once every member that answers
// holds it: a member without it would be cut off the ring.
func (g *Gateway) useKey(c *gin.Context) {
	key, ok := keyFromBody(c)
	if !ok || !g.keyPrecheck(c, key, func(n api.NodeKeyResult) bool { return !slices.Contains(n.Keys, key) },
		"key is not installed on %s: install it first (POST /api/federation/keyring)") {
		return
	}
	g.answerKeyring(c, g.fanOutKeyOp(c.Request.Context(), keyOpUse, key))
}

// removeKey removes a key everywhere, unless a member still encrypts with
// it: the others could not read that member any more.
func (g *Gateway) removeKey(c *gin.Context) {
	key, ok := keyFromBody(c)
	if !ok || !g.keyPrecheck(c, key, func(n api.NodeKeyResult) bool { return n.PrimaryKey == key },
		"key is the primary key on %s: make another key primary first (PUT /api/federation/keyring)") {
		return
	}
	g.answerKeyring(c, g.fanOutKeyOp(c.Request.Context(), keyOpRemove, key))
}

// keyPrecheck lists the ring's keyrings and refuses (409, nothing changed)
// when bad holds for any member, or (502) when a member cannot be asked.
func (g *Gateway) keyPrecheck(c *gin.Context, key string, bad func(api.NodeKeyResult) bool, msg string) bool {
	res := g.fanOutKeyOp(c.Request.Context(), keyOpList, "")
	if res.NumFailed > 0 {
		res.Error = "nothing changed: cannot read the keyring of " + failedNodes(res)
		c.AbortWithStatusJSON(http.StatusBadGateway, res)
		return false
	}
	var names []string
	for _, n := range res.Nodes {
		if bad(n) {
			names = append(names, n.Name)
		}
	}
	if len(names) > 0 {
		res.Error = fmt.Sprintf(msg, strings.Join(names, ", "))
		c.AbortWithStatusJSON(http.StatusConflict, res)
		return false
	}
	return true
}

// keyFromBody reads {"key": "<base64>"} (or ?key= on DELETE) and checks it.
func keyFromBody(c *gin.Context) (string, bool) {
	var body api.KeyRequest
	if q := c.Query("key"); q != "" && c.Request.Method == http.MethodDelete && c.Request.ContentLength <= 0 {
		body.Key = q
	} else if err := decodeStrict(c.Request.Body, &body, "key"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return "", false
	}
	if body.Key == "" {
		abortJSON(c, http.StatusBadRequest, errors.New(`key is required: {"key": "<base64 of 16, 24 or 32 bytes>"}`))
		return "", false
	}
	key, err := cluster.ParseKey(body.Key)
	if err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return "", false
	}
	return cluster.EncodeKey(key), true
}

// answerKeyring writes res: 200 when every member asked succeeded, else
// 502 with an error naming the members that failed and why.
func (g *Gateway) answerKeyring(c *gin.Context, res api.KeyringResult) {
	if res.NumFailed == 0 {
		c.JSON(http.StatusOK, res)
		return
	}
	res.Error = fmt.Sprintf("%s failed on %d of %d nodes: %s", res.Op, res.NumFailed, res.NumNodes, failedNodes(res))
	c.JSON(http.StatusBadGateway, res)
}

func failedNodes(res api.KeyringResult) string {
	var parts []string
	for _, n := range res.Nodes {
		if !n.OK {
			parts = append(parts, n.Name+" ("+n.Error+")")
		}
	}
	return strings.Join(parts, ", ")
}

// fanOutKeyOp applies op to every alive or suspect member at once, this
// node directly and the others through keyringNodePath, and tallies the
// answers. Dead and left members are reported as skipped.
func (g *Gateway) fanOutKeyOp(ctx context.Context, op, key string) api.KeyringResult {
	res := api.KeyringResult{Op: op, Keys: []api.KeyCount{}, Skipped: []api.SkippedMember{}}
	var targets []cluster.Member
	for _, m := range g.node.Members() {
		if m.State == cluster.StateAlive || m.State == cluster.StateSuspect {
			targets = append(targets, m)
		} else {
			res.Skipped = append(res.Skipped, api.SkippedMember{Name: m.Name, Status: m.State})
		}
	}
	res.Nodes = make([]api.NodeKeyResult, len(targets))
	var wg sync.WaitGroup
	for i, m := range targets {
		wg.Go(func() { res.Nodes[i] = g.memberKeyOp(ctx, m, op, key) })
	}
	wg.Wait()
	tally(&res)
	return res
}

// memberKeyOp applies op on one member and reports its answer.
func (g *Gateway) memberKeyOp(ctx context.Context, m cluster.Member, op, key string) api.NodeKeyResult {
	var st cluster.KeyringState
	var err error
	switch {
	case m.Name == g.node.Name():
		raw, _ := cluster.ParseKey(key) // checked by keyFromBody; empty for list
		st, err = g.applyKeyOp(op, raw)
	case m.Meta.URL == "":
		err = errors.New("the member gossips no URL")
	default:
		st, err = g.remoteKeyOp(ctx, m.Name, m.Meta.URL, op, key)
	}
	if err != nil {
		g.log.Warn("keyring operation failed on a member", "op", op, "member", m.Name, "err", err)
		return api.NodeKeyResult{Name: m.Name, Error: err.Error()}
	}
	return api.NodeKeyResult{Name: m.Name, OK: true, PrimaryKey: st.Primary, Keys: st.Keys}
}

// tally counts the answers and the nodes holding each key, the keys in
// order of how many nodes hold them, then of how many use them.
func tally(r *api.KeyringResult) {
	counts := map[string]*api.KeyCount{}
	for _, n := range r.Nodes {
		r.NumNodes++
		if !n.OK {
			r.NumFailed++
			continue
		}
		r.NumOK++
		for _, k := range n.Keys {
			if counts[k] == nil {
				counts[k] = &api.KeyCount{Key: k}
			}
			counts[k].Nodes++
			if k == n.PrimaryKey {
				counts[k].Primary++
			}
		}
	}
	for _, kc := range counts {
		r.Keys = append(r.Keys, *kc)
	}
	slices.SortFunc(r.Keys, func(a, b api.KeyCount) int {
		if a.Primary != b.Primary {
			return b.Primary - a.Primary
		}
		if a.Nodes != b.Nodes {
			return b.Nodes - a.Nodes
		}
		return strings.Compare(a.Key, b.Key)
	})
}
