package cluster_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
)

// TestHostilePacketsAreIgnored sends garbage to a node's gossip port over
// UDP and TCP (unlabelled, wrong label, unencrypted, huge, hanging): the
// node keeps its ring and its registry keeps replicating.
func TestHostilePacketsAreIgnored(t *testing.T) {
	nodes := clustertest.Ring(t, 3, clustertest.Options{})
	target := nodes[0].GossipAddr()
	payloads := [][]byte{
		{},
		{0xff},
		[]byte("garbage that is not memberlist"),
		append([]byte{244, 7}, "mcpmesh-but-not-encrypted"...), // a label header, then junk
		bytes.Repeat([]byte{0x01}, 1400),
	}
	udp, err := net.Dial("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, p := range payloads {
		for range 20 {
			_, _ = udp.Write(p)
		}
	}
	for _, p := range append(payloads, bytes.Repeat([]byte{0x07}, 4<<20)) {
		c, err := net.DialTimeout("tcp", target, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write(p)
		_ = c.Close()
	}
	hang, err := net.Dial("tcp", target) // opened, never written to
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()

	if _, err := nodes[1].Registry().Put(rec("after-attack", "node-02", cluster.TrustFull)); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	clustertest.WaitAllAlive(t, nodes, 5*time.Second)
}
