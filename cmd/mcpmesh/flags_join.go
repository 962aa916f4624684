package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// checkJoin checks each --join entry: an http(s) URL of a node, a gossip
// address host:port, or dns:NAME[:PORT]. A malformed entry is a usage
// error (exit status 2) naming the entry, rather than a seed retried
// forever.
func checkJoin(entries []string) []error {
	var errs []error
	for i, e := range entries {
		if err := checkJoinEntry(e); err != nil {
			errs = append(errs, usageError{fmt.Sprintf("--join: entry %d %q: %v", i+1, e, err)})
		}
	}
	return errs
}

func checkJoinEntry(e string) error {
	if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
		_, err := cluster.ParseSeed(e)
		return err
	}
	u, err := url.Parse(e)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL: %w", err)
	case u.Hostname() == "":
		return fmt.Errorf("the URL has no host")
	case u.Port() != "":
		if _, err := cluster.ParseSeed(u.Host); err != nil {
			return err
		}
	}
	return nil
}
