package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// listServers is GET /api/servers: a bare array of upstreams with status.
func (g *Gateway) listServers(c *gin.Context) {
	entries := g.servers.list()
	out := make([]api.Server, len(entries))
	for i, e := range entries {
		out[i] = e.view()
	}
	c.JSON(http.StatusOK, out)
}

// getServer is GET /api/servers/{name}.
func (g *Gateway) getServer(c *gin.Context) {
	e, ok := g.servers.get(c.Param("name"))
	if !ok {
		abortJSON(c, http.StatusNotFound, errUnknownServer(c.Param("name")))
		return
	}
	c.JSON(http.StatusOK, e.view())
}

// addServer is POST /api/servers: an mcpServers entry plus "name". It
// answers 201 once the server has connected or failed (bounded).
func (g *Gateway) addServer(c *gin.Context) {
	var cfg serverConfig
	if err := decodeStrict(c.Request.Body, &cfg, "name, command, args, env, url, headers, prefix, service, type, protocol_version"); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	if err := checkServer(cfg); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	if err := g.checkNotMesh(c.Request.Context(), cfg); err != nil {
		abortJSON(c, http.StatusBadRequest, err)
		return
	}
	view, err := g.register(c.Request.Context(), cfg)
	if err != nil {
		abortJSON(c, statusOf(err), err)
		return
	}
	c.JSON(http.StatusCreated, view)
}

// deleteServer is DELETE /api/servers/{name}: 204, or 404 if unknown.
func (g *Gateway) deleteServer(c *gin.Context) {
	if err := g.unregister(c.Param("name")); err != nil {
		abortJSON(c, statusOf(err), err)
		return
	}
	c.Status(http.StatusNoContent)
}

// statusOf maps a registration error to its HTTP status.
func statusOf(err error) int {
	var unknown unknownServerError
	var fromConfig configServerError
	switch {
	case errors.As(err, &unknown):
		return http.StatusNotFound
	case errors.Is(err, mcp.ErrConflict), errors.As(err, &fromConfig):
		return http.StatusConflict
	case errors.Is(err, errClosing):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields and trailing data, with an error that names the problem.
func decodeStrict(r io.Reader, v any, allowed string) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, allowed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error, allowed string) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the body ends in the middle of a value")
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("request body must be a JSON object, not a JSON %s", typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("field %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Errorf("%s (allowed: %s)", strings.TrimPrefix(err.Error(), "json: "), allowed)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return goType
}
