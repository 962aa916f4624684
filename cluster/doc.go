// Package cluster is mcpmesh's ring: gossip membership on
// hashicorp/memberlist (SWIM with Lifeguard) and the replicated peer
// registry. It knows nothing of MCP or HTTP: it carries each node's
// [NodeMeta] (URL, version, an opaque catalog digest) and a registry of
// [PeerRecord]s, and reports what changes as [Event]s.
//
// The shape follows hashicorp/serf:
//
//   - [Node] wraps one memberlist.Memberlist. Each memberlist hook has its own
//     small unexported adapter with a back-pointer to the Node (delegate.go,
//     event_delegate.go, conflict_delegate.go). Hooks never block: they update
//     in-memory state under short locks and hand disk writes to a goroutine.
//   - The Node keeps its own map of every member it has seen (alive, suspect,
//     dead, left) until it is reaped, because memberlist forgets dead members
//     and never exposes suspicion (see members.go).
//   - The [Registry] is a state-based CRDT (a last-writer-wins map keyed by
//     peer name, versioned by a hybrid logical clock, deletes as tombstones).
//     Local writes are persisted before they are acknowledged and then
//     broadcast; receivers that learn something new re-broadcast it once;
//     memberlist's push-pull carries the whole registry as anti-entropy.
//   - Known members' gossip addresses are persisted (like Serf's snapshot) and
//     a background loop rejoins the ones that are not alive, so a restarted
//     node finds the ring again and a healed partition merges.
//
// Every timing lives in [Timings], with [DefaultTimings] for real rings and
// [TestTimings] for in-process rings in tests.
package cluster
