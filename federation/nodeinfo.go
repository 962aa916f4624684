package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
)

// maxInfoBytes bounds an answer to GET /api/federation/info.
const maxInfoBytes = 64 << 10

// FetchInfo asks the node at base for its /api/federation/info. The
// request carries a token good for that route only (audInfo): who answers
// is not known yet.
func (f *Engine) FetchInfo(ctx context.Context, base string) (api.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/federation/info", nil)
	if err != nil {
		return api.Info{}, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return api.Info{}, tlsHint(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.Info{}, fmt.Errorf("GET /api/federation/info answered %s", resp.Status)
	}
	info, err := parseInfo(resp.Body)
	if err != nil {
		return api.Info{}, fmt.Errorf("GET /api/federation/info did not answer as an mcpmesh node: %w", err)
	}
	return info, nil
}

// parseInfo reads and checks an answer to GET /api/federation/info: one
// JSON object of at most maxInfoBytes whose fields a node could have sent.
// Whatever it is given, it returns a checked api.Info or an error naming
// what was wrong; it never panics.
func parseInfo(r io.Reader) (api.Info, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInfoBytes+1))
	switch {
	case err != nil:
		return api.Info{}, fmt.Errorf("read the answer: %w", err)
	case len(b) > maxInfoBytes:
		return api.Info{}, fmt.Errorf("the answer is larger than %d bytes", maxInfoBytes)
	}
	var info api.Info
	if err := json.Unmarshal(b, &info); err != nil {
		return api.Info{}, fmt.Errorf("the answer is not the JSON object of a node: %w", err)
	}
	return info, checkInfo(info)
}

// checkInfo refuses an info whose fields no node would send.
func checkInfo(i api.Info) error {
	if err := cluster.CheckNodeName(i.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if err := checkGossipAddress(i.GossipAddress); err != nil {
		return err
	}
	if i.URL != "" {
		if err := checkNodeURL(i.URL); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"version", i.Version, cluster.MaxMetaVersion}, {"catalog_digest", i.CatalogDigest, cluster.MaxMetaDigest},
		{"registry_digest", i.RegistryDigest, cluster.MaxMetaDigest}} {
		if len(f.v) > f.max {
			return fmt.Errorf("%s is %d bytes, longer than %d", f.name, len(f.v), f.max)
		}
	}
	return nil
}

// checkGossipAddress refuses a gossip address that is not host:port.
func checkGossipAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || len(addr) > 300 {
		return fmt.Errorf("gossip_address %.100q must be host:port", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("gossip_address %.100q must have a port of 1-65535", addr)
	}
	return nil
}

// checkNodeURL refuses a node URL that is not an absolute http(s) URL.
func checkNodeURL(raw string) error {
	if len(raw) > cluster.MaxMetaURL {
		return fmt.Errorf("url is %d bytes, longer than %d", len(raw), cluster.MaxMetaURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http or https URL", raw)
	}
	return nil
}
