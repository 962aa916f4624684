package federation

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// peerSessions is how many TLS sessions to peers are kept for resumption.
const peerSessions = 256

// peerTLS is the TLS client configuration of every node-to-node request to
// an https peer: its certificate verified against roots (--tls-ca; nil:
// the system roots) and the peer's host name, never skipped; sessions
// resumed (a new connection to a known peer skips the full handshake);
// HTTP/1.1, the protocol nodes serve.
func peerTLS(roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		RootCAs:            roots,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(peerSessions),
		NextProtos:         []string{"http/1.1"},
	}
}

// tlsHint adds to a certificate error what an operator can do about it.
func tlsHint(err error) error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("%w (the peer's certificate is not signed by a CA this node trusts: give the CA that signed it with --tls-ca)", err)
	case errors.As(err, &host):
		return fmt.Errorf("%w (the peer's certificate does not name the host of its URL: see --advertise-url)", err)
	}
	return err
}
