package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
)

// TestSeedProblem: the seed rules of /ready, by the node's seed status.
func TestSeedProblem(t *testing.T) {
	now := time.Now()
	recent, old := now.Add(-time.Second), now.Add(-AloneAfter-time.Second)
	refused := errors.New("no installed keys could decrypt the message")
	cases := []struct {
		name    string
		st      cluster.SeedStatus
		members int
		want    string
	}{
		{"no seeds, alone", cluster.SeedStatus{}, 1, ""},
		{"seeds, none answered", cluster.SeedStatus{Given: true}, 1, "joining"},
		{"seeds, none answered, yet members", cluster.SeedStatus{Given: true}, 2, ""},
		{"seeds answered lately", cluster.SeedStatus{Given: true, Answered: recent}, 1, ""},
		{"alone since long", cluster.SeedStatus{Given: true, Answered: old, Company: old}, 1, "alone"},
		{"alone since lately", cluster.SeedStatus{Given: true, Answered: old, Company: recent}, 1, ""},
		{"key refused", cluster.SeedStatus{Given: true, KeyRefused: refused}, 1, "gossip key refused"},
		{"key refused, itself a seed", cluster.SeedStatus{Given: true, Self: true, Answered: recent, KeyRefused: refused}, 1, "gossip key refused"},
		{"itself a seed: the first of its ring", cluster.SeedStatus{Given: true, Self: true, Answered: old}, 1, ""},
		{"key refused once, now in a ring", cluster.SeedStatus{Given: true, KeyRefused: refused}, 3, ""},
		{"no seeds, key refused by the members it retries", cluster.SeedStatus{KeyRefused: refused}, 1, "gossip key refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := seedProblem(tc.st, tc.members, now)
			if status != tc.want || (status != "" && reason == "") {
				t.Fatalf("seedProblem = %q, %q; want status %q with a reason", status, reason, tc.want)
			}
		})
	}
}
