#!/usr/bin/env bash
# netns_hosts.sh WEFTD PROBE: weft across real (virtual) hosts.
#
# Makes its own network: five network namespaces (a bridge, three hosts,
# a client), one veth pair per host and client into the bridge, addresses
# 10.77.0.0/24 assigned only inside those namespaces. Nothing is sent on the
# machine's own interfaces: every packet of the test stays on the veths and
# the bridge it made (the multicast beacons have TTL 1 and go out on the
# namespace's veth0 only).
#   (a) tasks across the three hosts (weftd --listen 10.77.0.1X:7117 with a
#       key file the test made), exact results, every host did work;
#   (c) discovery: each weftd announces to 239.255.77.1:7118 on its veth0;
#       a client that knows no node finds all three and runs tasks on them;
#       a node with the auto-made user key refuses to announce off loopback;
#   (b) a partition: a host's link is taken down in the middle of a run;
#       its work is rescheduled on the other two, every job completes with
#       exact results, and the detection time is printed.
# Skips (exit 77) where the machine does not allow it: not root, no `ip`,
# or `ip netns add` refused. Removes everything it made on exit (trap),
# also on failure, and stops every process it started. Every wait is
# bounded in count and time.
set -u
WEFTD=${1:?usage: netns_hosts.sh WEFTD PROBE}
PROBE=${2:?usage: netns_hosts.sh WEFTD PROBE}
P="wd$$"                     # namespace prefix, unique per run
NS_BR="${P}br" HOSTS=(h1 h2 h3) NS_CL="${P}cl"
GROUP=239.255.77.1:7118
. "$(dirname "${BASH_SOURCE[0]}")/netns_common.sh"
[ -x "$PROBE" ] || fail "no probe at $PROBE"

tmp=$(mktemp -d /tmp/weft-netns-XXXXXX) || fail "mktemp"
chmod 700 "$tmp"
key="$tmp/secret"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key") || fail "key"
export XDG_CONFIG_HOME="$tmp/config"  # never the user's own key
unset WEFT_SECRET_FILE

mkns "$NS_BR"
ip -n "$NS_BR" link add br0 type bridge || fail "bridge"
ip -n "$NS_BR" link set br0 type bridge mcast_snooping 0 2>/dev/null
ip -n "$NS_BR" link set br0 up || fail "bridge up"
addr_of() { case $1 in h1) echo 10.77.0.11;; h2) echo 10.77.0.12;; h3) echo 10.77.0.13;; cl) echo 10.77.0.100;; esac; }
for h in "${HOSTS[@]}" cl; do
  ns="${P}$h"
  mkns "$ns"
  # both ends made directly inside the test's namespaces
  ip link add veth0 netns "$ns" type veth peer name "$h" netns "$NS_BR" || fail "veth $h"
  ip -n "$NS_BR" link set "$h" master br0 up || fail "bridge port $h"
  ip -n "$ns" addr add "$(addr_of "$h")/24" dev veth0 || fail "address $h"
  ip -n "$ns" link set veth0 up || fail "veth0 up $h"
done
# every link is up (veth0 in each namespace, each bridge port); the
# client's connects retry with backoff for the rest
for h in "${HOSTS[@]}" cl; do
  ok=0
  for _ in $(seq 1 100); do
    ip -n "${P}$h" -o link show veth0 | grep -q "state UP" &&
      ip -n "$NS_BR" -o link show "$h" | grep -q "state UP" && { ok=1; break; }
    sleep 0.05
  done
  [ $ok = 1 ] || fail "link of $h not up"
done

start_weftd() { # host, extra args...
  local h=$1; shift
  ip netns exec "${P}$h" "$WEFTD" --listen "$(addr_of "$h"):7117" --secret-file "$key" \
    --workers 1 --log-level warn --log-file "$tmp/weftd-$h.log" "$@" &
  pids+=($!)
}
for h in "${HOSTS[@]}"; do
  start_weftd "$h" --announce "$GROUP" --announce-if veth0 --announce-interval 0.2
done
nodes=()
for h in "${HOSTS[@]}"; do nodes+=(--node "$(addr_of "$h"):7117"); done

probe() { # output file, args...: the client, in its namespace, bounded
  local out=$1; shift
  timeout 180 ip netns exec "$NS_CL" env WEFT_SECRET_FILE="$key" "$PROBE" "$@" > "$out" 2>&1
}
node_jobs() { sed -n "s/^node $1 jobs \([0-9]*\).*/\1/p" "$2"; }

echo "== (a) tasks across three hosts"
probe "$tmp/a.out" "${nodes[@]}" --expect 3 --tasks 3000 --prime-n 20000
rc=$?
cat "$tmp/a.out"
[ $rc = 0 ] || fail "(a) probe exit $rc"
grep -qx "results 3000 exact" "$tmp/a.out" || fail "(a) results"
total=0
for h in "${HOSTS[@]}"; do
  j=$(node_jobs "$(addr_of "$h"):7117" "$tmp/a.out")
  [ -n "$j" ] && [ "$j" -gt 0 ] || fail "(a) host $h ran no job"
  total=$((total + j))
done
[ $total = 3000 ] || fail "(a) $total jobs counted, want 3000"

echo "== (c) discovery across the namespaces (multicast $GROUP on veth0)"
probe "$tmp/c.out" --discover "$GROUP" --discover-if veth0 --expect 3 --tasks 600 --prime-n 20000
rc=$?
cat "$tmp/c.out"
[ $rc = 0 ] || fail "(c) probe exit $rc"
grep -qx "results 600 exact" "$tmp/c.out" || fail "(c) results"
grep -q "^discover received [0-9]* accepted [0-9]* added 3 ignored 0$" "$tmp/c.out" ||
  fail "(c) discovery counts"
for h in "${HOSTS[@]}"; do
  grep -q "^joined $(addr_of "$h"):7117 " "$tmp/c.out" || fail "(c) $h not discovered"
done
lat=$(sed -n 's/^up 3 nodes in \(.*\) ms$/\1/p' "$tmp/c.out")
echo "discovery: 3 nodes found and authenticated in $lat ms (beacons every 200 ms)"
echo "== (c) discovery by broadcast (10.77.0.255:7119 on veth0)"
# broadcast: a fourth node on h3 listens on the wildcard (so its beacons
# carry no address: the client takes the datagram's source address) and
# broadcasts to the test subnet's 10.77.0.255 from h3's veth0
start_weftd_any() {
  ip netns exec "${P}h3" "$WEFTD" --listen 0.0.0.0:7217 --secret-file "$key" --workers 1 \
    --log-level warn --log-file "$tmp/weftd-h3b.log" --announce 10.77.0.255:7119 \
    --announce-if veth0 --announce-interval 0.2 &
  pids+=($!)
}
start_weftd_any
probe "$tmp/c2.out" --discover 0.0.0.0:7119 --expect 1 --tasks 200 --prime-n 20000
rc=$?
cat "$tmp/c2.out"
[ $rc = 0 ] || fail "(c) broadcast probe exit $rc"
grep -qx "results 200 exact" "$tmp/c2.out" || fail "(c) broadcast results"
grep -q "^joined 10.77.0.13:7217 " "$tmp/c2.out" || fail "(c) broadcast node not found at its source address"
grep -q "^discover received [0-9]* accepted [0-9]* added 1 ignored 0$" "$tmp/c2.out" ||
  fail "(c) broadcast discovery counts"
# the auto-made user key never announces off loopback
out=$(timeout 20 ip netns exec "${P}h1" env -u WEFT_SECRET_FILE XDG_CONFIG_HOME="$tmp/auto" \
  "$WEFTD" --listen 127.0.0.1:0 --announce 10.77.0.255:7118 2>&1)
rc=$?
[ $rc = 1 ] || fail "(c) weftd with the user key announcing off loopback: exit $rc"
echo "$out" | grep -q "refusing to announce to 10.77.0.255" || fail "(c) refusal message: $out"

echo "== (b) partition: h2's link goes down in the middle of a run"
timeout 180 ip netns exec "$NS_CL" env WEFT_SECRET_FILE="$key" "$PROBE" "${nodes[@]}" \
  --expect 3 --tasks 4000 --prime-n 40000 > "$tmp/b.out" 2>&1 &
ppid=$!
pids+=($ppid)
cut=""
for _ in $(seq 1 600); do
  grep -q "^progress 20$" "$tmp/b.out" 2>/dev/null && break
  kill -0 $ppid 2>/dev/null || break
  sleep 0.05
done
grep -q "^progress 20$" "$tmp/b.out" || { cat "$tmp/b.out"; fail "(b) run did not get going"; }
ip -n "${P}h2" link set veth0 down || fail "(b) link down"
cut=$(date +%s.%N)
wait $ppid
rc=$?
cat "$tmp/b.out"
[ $rc = 0 ] || fail "(b) probe exit $rc"
grep -qx "results 4000 exact" "$tmp/b.out" || fail "(b) results"
lost=$(sed -n "s/^lost $(addr_of h2):7117 at \(.*\)$/\1/p" "$tmp/b.out" | head -1)
[ -n "$lost" ] || fail "(b) h2 was never declared lost"
det=$(awk -v a="$cut" -v b="$lost" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
echo "partition: h2 declared lost $det ms after its link went down (dead_after 1 s)"
[ "$det" -ge 0 ] && [ "$det" -le 5000 ] || fail "(b) detection time $det ms"
for h in h1 h3; do
  j=$(node_jobs "$(addr_of "$h"):7117" "$tmp/b.out")
  [ -n "$j" ] && [ "$j" -gt 0 ] || fail "(b) host $h ran no job"
done
grep -q "^node $(addr_of h2):7117 jobs [0-9]* losses [1-9]" "$tmp/b.out" || fail "(b) h2 losses"

echo "== the nodes drain and exit 0 on SIGTERM (h2's link back up first)"
ip -n "${P}h2" link set veth0 up || fail "link up"
for i in 0 1 2; do # the three hosts' weftd (the broadcast one goes in cleanup)
  pid=${pids[$i]}
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "weftd on ${HOSTS[$i]} did not exit within 10 s of SIGTERM"
  wait "$pid"
  rc=$?
  [ $rc = 0 ] || { cat "$tmp/weftd-${HOSTS[$i]}.log"; fail "weftd on ${HOSTS[$i]} exited $rc"; }
  echo "weftd on ${HOSTS[$i]}: exit 0 $(date +%s.%N)"
done
echo "PASS"
