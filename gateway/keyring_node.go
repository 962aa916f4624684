package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
)

// Keyring operations, as the node-to-node route names them.
const (
	keyOpList    = "list"
	keyOpInstall = "install"
	keyOpUse     = "use"
	keyOpRemove  = "remove"
)

// keyringNodePath is the node-to-node route that applies one keyring
// operation to the node that receives it (and to no other).
const keyringNodePath = "/api/federation/keyring/node"

// keyNodeTimeout bounds one node's answer to a keyring operation.
const keyNodeTimeout = 5 * time.Second

// keyOpBody is the body of keyringNodePath.
type keyOpBody struct {
	Op  string `json:"op"`
	Key string `json:"key,omitempty"`
}

// applyKeyOp runs op on this node's keyring.
func (g *Gateway) applyKeyOp(op string, key []byte) (cluster.KeyringState, error) {
	n := g.node
	switch op {
	case keyOpList:
		return n.Keyring()
	case keyOpInstall:
		return n.InstallKey(key)
	case keyOpUse:
		return n.UseKey(key)
	case keyOpRemove:
		return n.RemoveKey(key)
	}
	return cluster.KeyringState{}, fmt.Errorf("op %q must be one of list, install, use, remove", op)
}

// keyErrStatus maps a keyring error to its HTTP status.
func keyErrStatus(err error) int {
	switch {
	case errors.Is(err, cluster.ErrKeyNotInstalled), errors.Is(err, cluster.ErrPrimaryKey), errors.Is(err, cluster.ErrNotEncrypted):
		return http.StatusConflict
	case errors.Is(err, cluster.ErrShutdown):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// nodeKeyring serves keyringNodePath: one operation on this node only.
func (g *Gateway) nodeKeyring(c *gin.Context) {
	var body keyOpBody
	if err := decodeStrict(c.Request.Body, &body, "op, key"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	key, err := checkKeyOp(body)
	if err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	st, err := g.applyKeyOp(body.Op, key)
	if err != nil {
		abortJSON(c, keyErrStatus(err), err)
		return
	}
	if body.Op != keyOpList {
		g.log.Info("gossip keyring changed", "op", body.Op, "keys", len(st.Keys), "by", forwardedBy(c))
	}
	c.JSON(http.StatusOK, st)
}

// checkKeyOp checks the op and, unless it is list, decodes its key.
func checkKeyOp(b keyOpBody) ([]byte, error) {
	switch b.Op {
	case keyOpList:
		return nil, nil
	case keyOpInstall, keyOpUse, keyOpRemove:
		return cluster.ParseKey(b.Key)
	}
	return nil, fmt.Errorf("op %q must be one of list, install, use, remove", b.Op)
}

// forwardedBy names who asked: the node that forwarded the request, else
// the token's subject.
func forwardedBy(c *gin.Context) string {
	if from := c.GetHeader(federation.HeaderForwarded); from != "" {
		return from
	}
	if cl, ok := c.Get(claimsKey); ok {
		if claims, ok := cl.(*Claims); ok {
			return claims.Subject
		}
	}
	return ""
}

// remoteKeyOp asks member, at base, to apply op to its own keyring.
func (g *Gateway) remoteKeyOp(ctx context.Context, member, base, op, key string) (cluster.KeyringState, error) {
	ctx, cancel := context.WithTimeout(federation.ToNode(ctx, member), keyNodeTimeout)
	defer cancel()
	body, _ := json.Marshal(keyOpBody{Op: op, Key: key})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+keyringNodePath, bytes.NewReader(body))
	if err != nil {
		return cluster.KeyringState{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.fed.AdminClient().Do(req)
	if err != nil {
		return cluster.KeyringState{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return cluster.KeyringState{}, errors.New(e.Error)
		}
		return cluster.KeyringState{}, fmt.Errorf("%s answered %s", keyringNodePath, resp.Status)
	}
	var st cluster.KeyringState
	if err := json.Unmarshal(b, &st); err != nil {
		return cluster.KeyringState{}, fmt.Errorf("%s did not answer a keyring: %w", keyringNodePath, err)
	}
	return st, nil
}
