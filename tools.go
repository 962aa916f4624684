//go:build tools
package tools
import (
 _ "github.com/modelcontextprotocol/go-sdk/mcp"
 _ "github.com/gin-gonic/gin"
 _ "github.com/golang-jwt/jwt/v5"
 _ "github.com/dgraph-io/badger/v4"
 _ "github.com/hashicorp/memberlist"
 _ "github.com/redis/go-redis/v9"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/prometheus/client_golang/prometheus/promhttp"
 _ "pgregory.net/rapid"
 _ "golang.org/x/crypto/hkdf"
)
