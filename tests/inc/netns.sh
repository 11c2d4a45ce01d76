#!/usr/bin/env bash
# A throw-away test host for tests that need a peer that is NOT loopback
# (e.g. the rule that credentials never go in clear to a non-loopback peer).
# It lives in a network namespace this test run creates itself, joined to the
# host by a veth pair on a private /30; nothing leaves the machine.
#
#   netns.sh up NAME     create it; prints "HOST_ADDR NS_ADDR"
#   netns.sh down NAME   remove it (namespace and veth)
#   netns.sh check       exit 0 when namespaces can be made here (root, iproute2)
set -euo pipefail

cmd=${1:-}
name=${2:-}
case "$cmd" in
check)
    command -v ip >/dev/null || exit 1
    n="smtpsockchk$$"
    ip netns add "$n" 2>/dev/null || exit 1
    ip netns del "$n"
    ;;
up)
    [[ -n "$name" && ${#name} -le 12 ]] || { echo "netns.sh: NAME of 1-12 characters needed" >&2; exit 2; }
    # a /30 of 10.231.0.0/16 picked from the name, so parallel tests differ
    h=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
    a=$(( (h >> 6) % 250 + 1 )); b=$(( (h % 63) * 4 ))
    host_ip="10.231.$a.$((b + 1))"; ns_ip="10.231.$a.$((b + 2))"
    ip netns add "$name"
    ip link add "${name}h" type veth peer name "${name}n"
    ip link set "${name}n" netns "$name"
    ip addr add "$host_ip/30" dev "${name}h"
    ip link set "${name}h" up
    ip netns exec "$name" ip addr add "$ns_ip/30" dev "${name}n"
    ip netns exec "$name" ip link set "${name}n" up
    ip netns exec "$name" ip link set lo up
    echo "$host_ip $ns_ip"
    ;;
down)
    ip netns del "$name" 2>/dev/null || true
    ip link del "${name}h" 2>/dev/null || true
    ;;
*)
    echo "usage: netns.sh up|down NAME | check" >&2
    exit 2
    ;;
esac
