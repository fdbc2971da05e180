#!/usr/bin/env bash
# netns_graph_chaos.sh WEFTD CLIENT PLUGIN: a graph across real (virtual)
# hosts while a host's link goes down and comes back.
#
# The network is netns_hosts.sh's, made afresh: a bridge, three hosts and
# a client in network namespaces of this test's own, one veth pair each,
# 10.77.1.0/24 assigned only inside them (nothing is sent on the machine's
# own interfaces). Each host runs weftd --listen 10.77.1.1X:7117 with a key
# file the test made and the example plugin. The client (CLIENT --client,
# tests/dist/test_dist_graph_chaos.c) runs a random layered graph of 10,000
# nodes (fewer under WEFT_TEST_SCALE) of example.sleep_hash on the three
# hosts and compares every result with a local run; meanwhile h2's link is taken down for 2 s (its work is
# rescheduled on the others), brought up again (h2 rejoins), then h3's
# link goes down for good. Every result must be identical.
# Skips (exit 77) where the machine does not allow it: not root, no `ip`,
# or `ip netns add` refused. Removes everything it made on exit (trap),
# also on failure, and stops every process it started; every wait is
# bounded in count and time.
set -u
WEFTD=${1:?usage: netns_graph_chaos.sh WEFTD CLIENT PLUGIN}
CLIENT=${2:?usage: netns_graph_chaos.sh WEFTD CLIENT PLUGIN}
PLUGIN=${3:?usage: netns_graph_chaos.sh WEFTD CLIENT PLUGIN}
P="wg$$"                     # namespace prefix, unique per run
NS_BR="${P}br" HOSTS=(h1 h2 h3) NS_CL="${P}cl"
. "$(dirname "${BASH_SOURCE[0]}")/netns_common.sh"
[ -x "$CLIENT" ] || fail "no client at $CLIENT"
[ -f "$PLUGIN" ] || fail "no plugin at $PLUGIN"

tmp=$(mktemp -d /tmp/weft-netns-graph-XXXXXX) || fail "mktemp"
chmod 700 "$tmp"
key="$tmp/secret"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key") || fail "key"
export XDG_CONFIG_HOME="$tmp/config" # never the user's own key
unset WEFT_SECRET_FILE

mkns "$NS_BR"
ip -n "$NS_BR" link add br0 type bridge || fail "bridge"
ip -n "$NS_BR" link set br0 up || fail "bridge up"
addr_of() { case $1 in h1) echo 10.77.1.11;; h2) echo 10.77.1.12;; h3) echo 10.77.1.13;; cl) echo 10.77.1.100;; esac; }
for h in "${HOSTS[@]}" cl; do
  ns="${P}$h"
  mkns "$ns"
  ip link add veth0 netns "$ns" type veth peer name "$h" netns "$NS_BR" || fail "veth $h"
  ip -n "$NS_BR" link set "$h" master br0 up || fail "bridge port $h"
  ip -n "$ns" addr add "$(addr_of "$h")/24" dev veth0 || fail "address $h"
  ip -n "$ns" link set veth0 up || fail "veth0 up $h"
done
for h in "${HOSTS[@]}" cl; do
  ok=0
  for _ in $(seq 1 100); do
    ip -n "${P}$h" -o link show veth0 | grep -q "state UP" &&
      ip -n "$NS_BR" -o link show "$h" | grep -q "state UP" && { ok=1; break; }
    sleep 0.05
  done
  [ $ok = 1 ] || fail "link of $h not up"
done

nodes=""
for h in "${HOSTS[@]}"; do
  ip netns exec "${P}$h" "$WEFTD" --listen "$(addr_of "$h"):7117" --secret-file "$key" \
    --workers 2 --load "$PLUGIN" --log-level warn --log-file "$tmp/weftd-$h.log" &
  pids+=($!)
  nodes="${nodes:+$nodes,}$(addr_of "$h"):7117"
done

# 10,000 nodes of 2 ms (WEFT_TEST_SCALE scales them down under sanitizers,
# never below 2,000, which then take 6 ms: the run still lasts seconds)
total=$(awk -v s="${WEFT_TEST_SCALE:-1}" 'BEGIN { n = int(10000 * s); if (n < 2000) n = 2000; if (n > 10000) n = 10000; print n }')
sleep_us=2000
[ "$total" -lt 10000 ] && sleep_us=6000
echo "== a graph of $total nodes across three hosts; h2's link down for 2 s, then h3's for good"
timeout 200 ip netns exec "$NS_CL" env WEFT_SECRET_FILE="$key" "$CLIENT" --client "$nodes" "$total" "$sleep_us" \
  > "$tmp/client.out" 2>&1 &
cpid=$!
pids+=($cpid)
for _ in $(seq 1 600); do
  grep -q "^graph chaos client: running" "$tmp/client.out" 2>/dev/null && break
  kill -0 $cpid 2>/dev/null || break
  sleep 0.05
done
grep -q "^graph chaos client: running" "$tmp/client.out" || { cat "$tmp/client.out"; fail "the run did not start"; }
sleep 1
ip -n "${P}h2" link set veth0 down || fail "h2 link down"
echo "h2's link down"
sleep 2
ip -n "${P}h2" link set veth0 up || fail "h2 link up"
echo "h2's link up again"
sleep 1
ip -n "${P}h3" link set veth0 down || fail "h3 link down"
echo "h3's link down"
wait $cpid
rc=$?
cat "$tmp/client.out"
[ $rc = 0 ] || fail "client exit $rc"
line=$(grep "^graph chaos client: rc=" "$tmp/client.out")
echo "$line" | grep -q " rc=0 nodes=$total " || fail "the run did not succeed"
echo "$line" | grep -q " on_nodes=$total " || fail "not every node ran on a host"
echo "$line" | grep -q " differing=0$" || fail "results differ from the local run"
retried=$(echo "$line" | sed -n 's/.* retried=\([0-9]*\) .*/\1/p')
[ -n "$retried" ] && [ "$retried" -gt 0 ] || fail "no node was retried: the links did not matter"
echo "PASS: graph across network namespaces, links cut: identical results, $retried nodes retried"
