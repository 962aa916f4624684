package cluster

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"

	"github.com/hashicorp/memberlist"
	"golang.org/x/crypto/hkdf"

	"github.com/mcpmesh/mcpmesh/store"
)

// DefaultLabel is the memberlist label of mcpmesh rings: packets of other
// memberlist users on the same port are refused.
const DefaultLabel = "mcpmesh"

// DefaultEventBuffer is the capacity of the Events channel.
const DefaultEventBuffer = 1024

// keyInfo is HKDF's fixed info string: the gossip key is bound to its use.
const keyInfo = "mcpmesh gossip key v1"

// nodeNameRE is what a node (member) name may be.
var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Config configures Start. Name, BindAddr and Store are required.
type Config struct {
	// Name is the node's unique name in the ring: 1–64 of [A-Za-z0-9._-],
	// starting with a letter or digit.
	Name string
	// BindAddr is the gossip address, "ip:port" (UDP and TCP). Port 0 picks
	// a free port; GossipAddr reports it.
	BindAddr string
	// AdvertiseAddr is the "ip:port" others reach this node at, when it is
	// not BindAddr (NAT, 0.0.0.0 binds). Port 0 means the bound port.
	AdvertiseAddr string
	// Label is memberlist's packet label (default DefaultLabel); nodes with
	// different labels ignore each other.
	Label string
	// SecretKey is the AES key (16, 24 or 32 bytes) encrypting all gossip;
	// see DeriveKey. Empty means unencrypted gossip (logged as a warning).
	// A keyring stored by an earlier run (see InstallKey) wins over it.
	SecretKey []byte
	// ResetKeyring deletes the stored keyring first, so SecretKey alone is
	// used: the way back for a node that missed a key rotation.
	ResetKeyring bool
	// Store persists the registry (keys "registry/") and the member
	// snapshot (keys "members/"). The Node does not close it.
	Store store.Store
	// Logger receives the node's and memberlist's logs; nil discards them.
	Logger *slog.Logger
	// Meta is the node's initial metadata (see NodeMeta's limits).
	Meta NodeMeta
	// Timings tunes gossip and background loops; zero fields take defaults.
	Timings Timings
	// Resolver looks up DNS seeds (see SetSeeds); nil: net.DefaultResolver.
	Resolver Resolver
	// EventBuffer is the capacity of Events (default DefaultEventBuffer).
	EventBuffer int
}

// DeriveKey derives the 32-byte gossip key (AES-256) from the JWT secret
// with HKDF-SHA256 and a fixed info string, so every node sharing the
// secret shares the key and a node without it cannot join.
func DeriveKey(jwtSecret []byte) []byte {
	key := make([]byte, 32)
	r := hkdf.New(sha256.New, jwtSecret, nil, []byte(keyInfo))
	if _, err := io.ReadFull(r, key); err != nil { // cannot fail for 32 bytes
		panic(fmt.Sprintf("cluster: hkdf: %v", err))
	}
	return key
}

// checkName reports whether name is a valid node name.
func checkName(name string) error {
	if !nodeNameRE.MatchString(name) {
		return fmt.Errorf("node name %q must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

// prepare checks c and fills its defaults.
func (c Config) prepare() (Config, error) {
	if err := checkName(c.Name); err != nil {
		return c, err
	}
	if c.Store == nil {
		return c, errors.New("a store is required")
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return c, fmt.Errorf("secret key is %d bytes; an AES key is 16, 24 or 32 bytes", len(c.SecretKey))
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Label == "" {
		c.Label = DefaultLabel
	}
	if len(c.Label) > memberlist.LabelMaxSize {
		return c, fmt.Errorf("label is %d bytes, longer than %d", len(c.Label), memberlist.LabelMaxSize)
	}
	if _, err := c.Meta.encode(false); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	c.Timings = c.Timings.withDefaults()
	return c, c.Timings.validate()
}

// splitAddr parses "ip:port" (or "localhost:port") for memberlist.
func splitAddr(what, addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %w", what, addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%s %q: host must be an IP address", what, addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: port must be 0-65535", what, addr)
	}
	return host, port, nil
}

// memberlistConfig builds memberlist's config from the LAN preset.
func (n *Node) memberlistConfig(c Config) (*memberlist.Config, error) {
	mc := memberlist.DefaultLANConfig()
	host, port, err := splitAddr("bind address", c.BindAddr)
	if err != nil {
		return nil, err
	}
	mc.Name, mc.BindAddr, mc.BindPort, mc.AdvertisePort = c.Name, host, port, port
	if c.AdvertiseAddr != "" {
		if mc.AdvertiseAddr, mc.AdvertisePort, err = splitAddr("advertise address", c.AdvertiseAddr); err != nil {
			return nil, err
		}
		if mc.AdvertisePort == 0 {
			mc.AdvertisePort = port // memberlist sets it when port is 0 too
		}
	}
	mc.Label = c.Label
	if n.keys != nil {
		mc.Keyring = n.keys.ml
	}
	applyTimings(mc, c.Timings)
	mc.Delegate = &delegate{n: n}
	mc.Events = &eventDelegate{n: n}
	mc.Conflict = &conflictDelegate{n: n}
	mc.Alive = &aliveDelegate{n: n}
	mc.Merge = &mergeDelegate{n: n}
	mc.Ping = &pingDelegate{n: n}
	mc.Logger = newMemberlistLogger(c.Logger, n.sawSuspect)
	if n.wire, err = newCountingTransport(mc); err != nil { // binds now; counts traffic (stats.go)
		return nil, err
	}
	mc.Transport = n.wire
	mc.DNSConfigPath = ""
	mc.EnableCompression = false // gossip packets are small; LZW costs more CPU than it saves
	return mc, nil
}

func applyTimings(mc *memberlist.Config, t Timings) {
	mc.ProbeInterval, mc.ProbeTimeout, mc.IndirectChecks = t.ProbeInterval, t.ProbeTimeout, t.IndirectChecks
	mc.SuspicionMult, mc.SuspicionMaxTimeoutMult = t.SuspicionMult, t.SuspicionMaxTimeoutMult
	mc.GossipInterval, mc.GossipNodes, mc.RetransmitMult = t.GossipInterval, t.GossipNodes, t.RetransmitMult
	mc.PushPullInterval, mc.TCPTimeout = t.PushPullInterval, t.TCPTimeout
	mc.GossipToTheDeadTime, mc.DeadNodeReclaimTime = t.GossipToTheDeadTime, t.DeadNodeReclaimTime
}

// CheckNodeName reports whether name is a valid node (member) name.
func CheckNodeName(name string) error { return checkName(name) }
