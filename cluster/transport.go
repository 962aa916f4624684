package cluster

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// bindRetries is how often a bind on port 0 is retried when the port the
// kernel picked for TCP is taken for UDP (memberlist retries as often).
const bindRetries = 10

// gossipCounters count one node's gossip traffic as it crosses the wire
// (encrypted and labelled). They are atomics: the packet path takes no lock.
type gossipCounters struct {
	packetsSent, packetsReceived   atomic.Uint64
	packetBytesOut, packetBytesIn  atomic.Uint64
	streamsOpened, streamsAccepted atomic.Uint64
	streamBytesOut, streamBytesIn  atomic.Uint64
}

// countingTransport is memberlist's NetTransport with every packet and
// stream counted. Received packets and accepted streams are relayed from
// the inner transport's channels to the transport's own by one goroutine
// each; sends and dials are counted inline.
type countingTransport struct {
	inner *memberlist.NetTransport
	c     gossipCounters

	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{} // closed first by Shutdown: relays stop delivering
	stopped chan struct{} // closed once the inner transport is down
	once    sync.Once
	wg      sync.WaitGroup
	err     error // of the inner Shutdown

	// cutOff, when set, names the addresses this transport sends nothing
	// to (packets dropped, dials refused): in-process partitions in tests.
	cutOff atomic.Pointer[func(addr string) bool]
}

// errCut is a dial to an address cut off (tests' partitions).
var errCut = errors.New("gossip address cut off")

// cut reports whether addr is cut off.
func (t *countingTransport) cut(addr string) bool {
	f := t.cutOff.Load()
	return f != nil && (*f)(addr)
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

// newCountingTransport binds a NetTransport on mc's bind address and port
// and wraps it. As memberlist does for the transport it makes itself, a
// bind port of 0 takes a free port and writes it back to mc.BindPort, and
// to mc.AdvertisePort when that is 0 too.
func newCountingTransport(mc *memberlist.Config) (*countingTransport, error) {
	inner, err := bindNetTransport(mc)
	if err != nil {
		return nil, err
	}
	if mc.BindPort == 0 {
		mc.BindPort = inner.GetAutoBindPort()
		if mc.AdvertisePort == 0 {
			mc.AdvertisePort = mc.BindPort
		}
	}
	t := &countingTransport{
		inner: inner, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn),
		done: make(chan struct{}), stopped: make(chan struct{}),
	}
	t.wg.Add(2)
	go t.relayPackets()
	go t.relayStreams()
	return t, nil
}

// bindNetTransport creates the NetTransport, retrying a port-0 bind that
// lost a race for its port.
func bindNetTransport(mc *memberlist.Config) (*memberlist.NetTransport, error) {
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	tries := 1
	if mc.BindPort == 0 {
		tries = bindRetries
	}
	var err error
	for range tries {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("bind gossip on %s port %d: %w", mc.BindAddr, mc.BindPort, err)
}

// relayPackets counts and hands on received packets until the inner
// transport is down; once Shutdown began it drops them, so the inner
// listener never blocks on a packet nobody reads.
func (t *countingTransport) relayPackets() {
	defer t.wg.Done()
	in := t.inner.PacketCh()
	for {
		select {
		case p := <-in:
			t.c.packetsReceived.Add(1)
			t.c.packetBytesIn.Add(uint64(len(p.Buf)))
			select {
			case t.packets <- p:
			case <-t.done:
			}
		case <-t.stopped:
			return
		}
	}
}

// relayStreams counts and hands on accepted streams, wrapped to count
// their bytes; once Shutdown began it closes them instead.
func (t *countingTransport) relayStreams() {
	defer t.wg.Done()
	in := t.inner.StreamCh()
	for {
		select {
		case conn := <-in:
			t.c.streamsAccepted.Add(1)
			select {
			case t.streams <- t.wrap(conn):
			case <-t.done:
				_ = conn.Close()
			}
		case <-t.stopped:
			return
		}
	}
}

// FinalAdvertiseAddr is the inner transport's.
func (t *countingTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo sends and counts one packet.
func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.cut(addr) {
		return time.Now(), nil // lost on the way, as UDP may
	}
	ts, err := t.inner.WriteTo(b, addr)
	t.sent(len(b), err)
	return ts, err
}

// WriteToAddress sends and counts one packet.
func (t *countingTransport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	if t.cut(addr.Addr) {
		return time.Now(), nil
	}
	ts, err := t.inner.WriteToAddress(b, addr)
	t.sent(len(b), err)
	return ts, err
}

// sent counts a packet of size bytes if its send succeeded.
func (t *countingTransport) sent(size int, err error) {
	if err == nil {
		t.c.packetsSent.Add(1)
		t.c.packetBytesOut.Add(uint64(size))
	}
}

// PacketCh delivers received packets.
func (t *countingTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// StreamCh delivers accepted streams.
func (t *countingTransport) StreamCh() <-chan net.Conn { return t.streams }

// DialTimeout opens a counted stream.
func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.cut(addr) {
		return nil, errCut
	}
	return t.opened(t.inner.DialTimeout(addr, timeout))
}

// DialAddressTimeout opens a counted stream.
func (t *countingTransport) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.cut(addr.Addr) {
		return nil, errCut
	}
	return t.opened(t.inner.DialAddressTimeout(addr, timeout))
}

func (t *countingTransport) opened(conn net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	t.c.streamsOpened.Add(1)
	return t.wrap(conn), nil
}

// Shutdown stops the inner transport and the relays; it is idempotent
// (memberlist calls it, and so does a Start that failed after binding).
func (t *countingTransport) Shutdown() error {
	t.once.Do(func() {
		close(t.done)
		t.err = t.inner.Shutdown()
		close(t.stopped)
		t.wg.Wait()
	})
	return t.err
}

// wrap returns conn counting its bytes into t's counters.
func (t *countingTransport) wrap(conn net.Conn) net.Conn {
	return &countingConn{Conn: conn, c: &t.c}
}

// countingConn is a stream that counts the bytes read and written.
type countingConn struct {
	net.Conn
	c *gossipCounters
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.c.streamBytesIn.Add(uint64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.c.streamBytesOut.Add(uint64(n))
	return n, err
}
