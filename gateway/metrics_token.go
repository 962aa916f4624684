package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// metricsToken is the digest of --metrics-token (nil when unset), so the
// comparison takes the same time whatever the lengths.
func metricsToken(token string) []byte {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// checkMetricsToken lets GET /metrics through when no metrics token is set
// or the request carries it as a bearer token; otherwise it answers 401
// with a Bearer challenge.
func (g *Gateway) checkMetricsToken(c *gin.Context) {
	if g.metricsToken == nil {
		return
	}
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare(sum[:], g.metricsToken) == 1 {
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="mcpmesh-metrics"`)
	abortJSON(c, http.StatusUnauthorized, errors.New("GET /metrics needs the metrics token (--metrics-token) as Authorization: Bearer <token>"))
}
