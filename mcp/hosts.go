package mcp

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// CheckAllowedHost reports why entry is not a valid AllowedHosts entry: a
// host name or IP address, IPv6 in brackets, optionally with a :port (no
// scheme, path, user or spaces). It returns nil for a valid entry.
func CheckAllowedHost(entry string) error {
	switch {
	case strings.TrimSpace(entry) == "":
		return errors.New("empty entry")
	case strings.Contains(entry, "://"):
		return fmt.Errorf("%q is a URL: give only the host name, like mcp.example.com or mcp.example.com:443", entry)
	case strings.ContainsAny(entry, "/?#@"):
		return fmt.Errorf("%q has a path, query or user: give only the host name, like mcp.example.com", entry)
	case strings.ContainsFunc(entry, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%q contains a space or control character", entry)
	}
	name, port, err := splitHost(entry)
	if err != nil {
		return fmt.Errorf("%q: %w", entry, err)
	}
	if p, err := strconv.Atoi(port); port != "" && (err != nil || p < 1 || p > 65535) {
		return fmt.Errorf("%q: port %q must be a number from 1 to 65535", entry, port)
	}
	if strings.Contains(name, ":") && net.ParseIP(name) == nil {
		return fmt.Errorf("%q: %q is not an IPv6 address", entry, name)
	}
	if !strings.Contains(name, ":") && !validHostName(name) {
		return fmt.Errorf("%q: %q is not a host name of letters, digits, '-', '_' and '.'", entry, name)
	}
	return nil
}

// splitHost splits a host[:port], IPv6 in brackets, into name and port
// ("" when none is given).
func splitHost(hostport string) (name, port string, err error) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return "", "", errors.New("an IPv6 address needs its closing bracket")
		}
		name, rest := hostport[1:end], hostport[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return "", "", errors.New("only :port may follow an IPv6 address in brackets")
		}
		return name, strings.TrimPrefix(rest, ":"), nil
	}
	switch strings.Count(hostport, ":") {
	case 0:
		return hostport, "", nil
	case 1:
		name, port, _ = strings.Cut(hostport, ":")
		return name, port, nil
	}
	return "", "", errors.New("an IPv6 address goes in brackets, like [2001:db8::1] or [2001:db8::1]:443")
}

func validHostName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// hostMatches reports whether the Host header host is allowed by entry:
// the names are equal ignoring case, and so are the ports if entry names
// one (an entry without a port allows the name on any port, or none).
func hostMatches(entry, host string) bool {
	en, ep, err := splitHost(entry)
	if err != nil {
		return false
	}
	hn, hp, err := splitHost(host)
	if err != nil {
		return false
	}
	return strings.EqualFold(en, hn) && (ep == "" || ep == hp)
}
