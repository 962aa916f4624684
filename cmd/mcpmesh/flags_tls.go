package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
)

// tlsConfig is the TLS part of serve's flags: the node's certificate and
// key (HTTPS only when given) and the CA that verifies other nodes.
type tlsConfig struct {
	Cert, Key, CA string

	// Filled by check: the pair as loaded at start, and the CA pool
	// (nil: the system roots).
	pair  *tls.Certificate
	roots *x509.CertPool
}

// tlsFlags are the TLS flags (env MCPMESH_TLS_CERT, MCPMESH_TLS_KEY,
// MCPMESH_TLS_CA).
func tlsFlags(fs *flag.FlagSet, c *tlsConfig) {
	fs.StringVar(&c.Cert, "tls-cert", "", "PEM certificate (chain) of this node: serve HTTPS only, advertise https:// (needs --tls-key; reloaded on SIGHUP)")
	fs.StringVar(&c.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.CA, "tls-ca", "", "PEM CA certificate(s) that verify other nodes on node-to-node calls (default the system roots)")
}

// enabled reports whether the node serves HTTPS.
func (c *tlsConfig) enabled() bool { return c.Cert != "" }

// check loads the pair and the CA file, naming what is missing or bad
// (a usage error: exit status 2).
func (c *tlsConfig) check() error {
	switch {
	case c.Cert != "" && c.Key == "":
		return usagef("--tls-cert %s is given without --tls-key (MCPMESH_TLS_KEY): both or neither", c.Cert)
	case c.Key != "" && c.Cert == "":
		return usagef("--tls-key %s is given without --tls-cert (MCPMESH_TLS_CERT): both or neither", c.Key)
	}
	if c.Cert != "" {
		pair, err := loadPair(c.Cert, c.Key)
		if err != nil {
			return usageError{err.Error()}
		}
		c.pair = pair
	}
	if c.CA != "" {
		roots, err := loadCA(c.CA)
		if err != nil {
			return usageError{err.Error()}
		}
		c.roots = roots
	}
	return nil
}

// loadPair reads a certificate and its key, naming the file that cannot
// be read or the pair that does not match.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s with --tls-key %s: %w", certFile, keyFile, err)
	}
	return &pair, nil
}

// loadCA reads a PEM file of CA certificates into a pool.
func loadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", file)
	}
	return pool, nil
}
