package mcp

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// checkOrigin guards against DNS rebinding: the Host must be a loopback
// name or an allowed host, and a browser's Origin must be the same origin
// or an allowed one. It returns why a request is refused, or "".
func (s *Server) checkOrigin(r *http.Request) string {
	if !s.hostAllowed(r.Host) {
		return "host " + r.Host + " is not allowed (DNS rebinding protection): use the node's own address, or add it with --allowed-hosts"
	}
	origin := r.Header.Get("Origin")
	if origin == "" || s.originAllowed(origin, r.Host) {
		return ""
	}
	return "origin " + origin + " is not allowed: add it with --allowed-origins"
}

func (s *Server) hostAllowed(host string) bool {
	if host == "" || isLoopback(host) {
		return true
	}
	for _, h := range s.opts.AllowedHosts {
		if hostMatches(h, host) {
			return true
		}
	}
	return false
}

func (s *Server) originAllowed(origin, host string) bool {
	if slices.Contains(s.opts.AllowedOrigins, "*") || slices.Contains(s.opts.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// hostName strips the port from a host[:port].
func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func isLoopback(hostport string) bool {
	h := strings.ToLower(hostName(hostport))
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
