#!/usr/bin/env bash
# Own test hosts for ring tests across real interfaces on one machine (root).
# Host i is the network namespace mm-i with address 10.77.0.(10+i)/24 on a
# veth into the bridge mmbr0 (10.77.0.1/24 in the root namespace, so curl from
# here reaches every host). Links are cut with blackhole routes on both ends:
# no extra package, and packets are dropped silently as on a real partition.
#   scripts/netns-ring.sh up N        create hosts mm-0 .. mm-(N-1)
#   scripts/netns-ring.sh cut A B     drop all traffic between hosts A and B
#   scripts/netns-ring.sh heal A B    restore it
#   scripts/netns-ring.sh exec I CMD  run CMD inside host I
#   scripts/netns-ring.sh down        delete every host and the bridge (idempotent)
set -euo pipefail
BR=mmbr0 NET=10.77.0

die() { echo "netns-ring: $*" >&2; exit 2; }
addr() { echo "$NET.$((10 + $1))"; }
num() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -le 200 ] || die "not a host number: '$1'"; }
exists() { ip netns list | grep -w "mm-$1" >/dev/null; }

up() {
  num "$1"; [ "$1" -ge 1 ] || die "up needs at least one host"
  ip link show "$BR" >/dev/null 2>&1 || {
    ip link add "$BR" type bridge
    ip addr add "$NET.1/24" dev "$BR"
    ip link set "$BR" up
  }
  local i
  for i in $(seq 0 $(($1 - 1))); do
    exists "$i" && continue
    ip netns add "mm-$i"
    ip link add "mmv$i" type veth peer name eth0 netns "mm-$i"
    ip link set "mmv$i" master "$BR" up
    ip -n "mm-$i" addr add "$(addr "$i")/24" dev eth0
    ip -n "mm-$i" link set eth0 up
    ip -n "mm-$i" link set lo up
  done
}

down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^mm-[0-9]+$' || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mmv[0-9]+$' |
    while read -r v; do ip link del "$v" 2>/dev/null || true; done || true
}

link() { # add|del A B
  num "$2"; num "$3"; [ "$2" != "$3" ] || die "a host cannot be cut from itself"
  exists "$2" && exists "$3" || die "no such host: mm-$2 or mm-$3 (run up first)"
  if [ "$1" = add ]; then
    ip -n "mm-$2" route replace blackhole "$(addr "$3")/32"
    ip -n "mm-$3" route replace blackhole "$(addr "$2")/32"
  else
    ip -n "mm-$2" route del blackhole "$(addr "$3")/32" 2>/dev/null || true
    ip -n "mm-$3" route del blackhole "$(addr "$2")/32" 2>/dev/null || true
  fi
}

[ "$(id -u)" = 0 ] || die "must run as root"
case "${1:-}" in
  up) [ $# = 2 ] || die "usage: up N"; up "$2" ;;
  down) down ;;
  cut) [ $# = 3 ] || die "usage: cut A B"; link add "$2" "$3" ;;
  heal) [ $# = 3 ] || die "usage: heal A B"; link del "$2" "$3" ;;
  exec) [ $# -ge 3 ] || die "usage: exec I CMD..."; num "$2"; exists "$2" || die "no such host: mm-$2"
    i=$2; shift 2; exec ip netns exec "mm-$i" "$@" ;;
  *) die "usage: $0 up N | down | cut A B | heal A B | exec I CMD..." ;;
esac
