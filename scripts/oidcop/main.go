// Command oidcop is the OpenID Provider mcpmesh's OAuth tests start: the
// zitadel/oidc v3 provider (pkg/op) on its example storage, with service
// clients that get access tokens by the client credentials grant, so a
// test needs no browser. It lives in a module of its own so that zitadel is
// no dependency of mcpmesh.
//
// Clients (secret = id + "-secret"): jwt-client gets JWT access tokens,
// opaque-client opaque ones; mcpmesh may introspect (RFC 7662). Scopes of
// the token request shape the token: "aud:<uri>" adds an audience,
// "group:<g>" a group (claim "groups"), "ttl:<duration>" sets its life
// (negative: already expired); every other scope is granted as asked.
//
//	oidcop -addr 127.0.0.1:0 [-issuer URL]
//
// prints "listening http://<addr>" and "issuer <URL>" on stdout once it
// serves. -issuer lets a second
// provider claim the first one's issuer with keys of its own.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	issuer := flag.String("issuer", "", "issuer URL (default http://<addr>)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *issuer == "" {
		*issuer = "http://" + ln.Addr().String()
	}
	provider, err := newProvider(*issuer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening http://%s\nissuer %s\n", ln.Addr(), *issuer)
	log.Fatal(http.Serve(ln, provider))
}

func newProvider(issuer string) (*op.Provider, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	st := newStore(storage.NewStorage(storage.NewUserStore(issuer)))
	cfg := &op.Config{CryptoKey: key, CryptoKeyId: "k1", AuthMethodPost: true}
	return op.NewProvider(cfg, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
}
