#!/usr/bin/env bash
# demo_cluster.sh BUILD-DIR OUT-DIR: the cluster part of the flagship demo
# (tools/setup.sh demo; also the test example_wordcount_cluster).
#
# Starts two weftd nodes on loopback (their own process groups, a key made
# here, the word count's tasks loaded from libwordcount_tasks.so), runs
# wordcount -c on them, kills node 2 with kill -9 in the middle of the
# run, and checks that the counts are those of the local run in
# OUT-DIR/local.out (made first when it is missing). Prints the retries and
# the time lost; writes OUT-DIR/wordcount-cluster.{dot,svg,trace.json}
# beside the local run's files. The nodes are stopped on exit (trap), also
# on failure; every wait is bounded. Exit 0 when the counts are identical.
set -euo pipefail
build=${1:?usage: demo_cluster.sh BUILD-DIR OUT-DIR}
demo=${2:?usage: demo_cluster.sh BUILD-DIR OUT-DIR}
mkdir -p "$demo"
if [ ! -s "$demo/local.out" ]; then
  "$build/examples/wordcount" -o "$demo" > "$demo/local.out"
fi

echo "== demo: the same count on a cluster of two weftd nodes on loopback; one dies mid-run"
node_pids=()
stop_nodes() {
  # only groups whose leader is still a job of this shell: a pid waited for
  # already may belong to another process by now (pid_max can be 32768)
  local live=" $(jobs -p | tr '\n' ' ') "
  for p in "${node_pids[@]}"; do
    case "$live" in *" $p "*) kill -KILL -- "-$p" 2>/dev/null || true ;; esac
  done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  node_pids=()
}
trap stop_nodes EXIT
trap 'exit 1' INT TERM
key="$demo/cluster.key" # this demo's own key, never the user's
rm -f "$key"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key")
nodes=""
for i in 1 2; do
  setsid "$build/dist/weftd" --listen 127.0.0.1:0 --print-port --secret-file "$key" \
    --load "$build/examples/libwordcount_tasks.so" --workers 2 --log-level warn \
    > "$demo/node$i.port" 2> "$demo/node$i.log" &
  node_pids+=($!)
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$demo/node$i.port")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "== weftd $i did not start:" >&2; cat "$demo/node$i.log" >&2; exit 1; }
  echo "== node $i: weftd pid ${node_pids[$((i - 1))]} on 127.0.0.1:$port"
  nodes="${nodes:+$nodes,}127.0.0.1:$port"
done
# 64 count tasks of at least 50 ms each on 2 x 2 workers: about a second
# of work, long enough to kill node 2 while it holds half of it
"$build/examples/wordcount" -c "$nodes" -K "$key" -n 64 -P 50 -o "$demo" \
  > "$demo/cluster.out" 2> "$demo/cluster.err" &
wc_pid=$!
for _ in $(seq 1 400); do
  grep -q '^Cluster: ' "$demo/cluster.out" && break
  kill -0 "$wc_pid" 2>/dev/null || break
  sleep 0.05
done
sleep 0.4
victim=${node_pids[1]}
if kill -KILL -- "-$victim" 2>/dev/null; then
  echo "== killed node 2 (kill -9 $victim) in the middle of the run"
fi
wc_rc=0
wait "$wc_pid" || wc_rc=$?
cat "$demo/cluster.out"
cat "$demo/cluster.err"
stop_nodes
[ "$wc_rc" -eq 0 ] || { echo "== the cluster run failed (exit $wc_rc)" >&2; exit 1; }
counts() { sed -n '/^Top /,/^Heading lines skipped/p' "$1"; }
if [ -n "$(counts "$demo/local.out")" ] &&
   diff <(counts "$demo/local.out") <(counts "$demo/cluster.out") >/dev/null; then
  echo "== the counts of the cluster run are identical to the local run's"
else
  echo "== the counts differ from the local run's:" >&2
  diff <(counts "$demo/local.out") <(counts "$demo/cluster.out") >&2 || true
  exit 1
fi
grep '^Retries: ' "$demo/cluster.out" | sed 's/^/== /'
if command -v dot >/dev/null; then
  dot -Tsvg "$demo/wordcount-cluster.dot" -o "$demo/wordcount-cluster.svg"
  echo "== wrote $demo/wordcount-cluster.dot, wordcount-cluster.svg and wordcount-cluster.trace.json"
else
  echo "== wrote $demo/wordcount-cluster.dot and wordcount-cluster.trace.json (no graphviz for the SVG)"
fi
