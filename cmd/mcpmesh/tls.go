package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// certReloader serves the node's certificate to every TLS handshake and
// swaps it for the one on disk on reload: connections already open keep
// theirs, new ones get the new one, and a bad new pair keeps the old one.
type certReloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
	log               *slog.Logger
}

func newCertReloader(c *tlsConfig, log *slog.Logger) *certReloader {
	r := &certReloader{certFile: c.Cert, keyFile: c.Key, log: log}
	r.cur.Store(c.pair)
	return r
}

// GetCertificate is tls.Config's: the certificate in force.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// reload reads the pair again; on an error the old one stays.
func (r *certReloader) reload() {
	pair, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Error("TLS certificate not reloaded; the old one stays in use", "err", err)
		return
	}
	r.cur.Store(pair)
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "serial", pair.Leaf.SerialNumber.String(),
		"not_after", pair.Leaf.NotAfter)
}

// serverTLS is the TLS configuration of the node's port: the reloaded
// certificate, HTTP/1.1 (as the plain port serves it).
func (r *certReloader) serverTLS() *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// reloadOnHUP reloads the certificate on every SIGHUP until ctx ends.
// Without TLS SIGHUP keeps its default (it ends the process), as before.
func (r *certReloader) reloadOnHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
}

// httpsListener wraps ln (already capped by the gateway) in TLS when the
// node serves HTTPS, and starts the reloads; otherwise it returns ln.
func httpsListener(ctx context.Context, cfg *serveConfig, ln net.Listener, log *slog.Logger) net.Listener {
	if !cfg.TLS.enabled() {
		return ln
	}
	r := newCertReloader(&cfg.TLS, log)
	r.reloadOnHUP(ctx)
	log.Info("serving HTTPS only", "cert", cfg.TLS.Cert, "serial", cfg.TLS.pair.Leaf.SerialNumber.String())
	return tls.NewListener(ln, r.serverTLS())
}
