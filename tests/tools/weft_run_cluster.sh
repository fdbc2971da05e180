#!/usr/bin/env bash
# weft-run on clusters of weftd processes on loopback: results, exit codes
# and messages of cluster runs; weftd --slurm with the variables Slurm
# would set (no Slurm needed), a node started 2 s after the client; and
# discovery. Exact expectations; prints "weft-run cluster: N passed, M
# failed" and exits nonzero on a failure.
#   weft_run_cluster.sh WEFT-RUN WEFTD PLUGIN TESTS-DIR WORK-DIR
# Every process it starts runs in a process group of its own and is
# stopped on exit (trap), also on failure; every wait is bounded.
set -u
run=$1 weftd=$2 plugin=$3 tests=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && chmod 700 "$work" || exit 1
pass=0 fail=0
pgids=()
cleanup() {
  # only groups whose leader is still a job of this shell: a pid waited for
  # already may belong to another process by now (pid_max can be 32768)
  local live=" $(jobs -p | tr '\n' ' ') "
  for g in "${pgids[@]}"; do
    case "$live" in *" $g "*) kill -KILL -- "-$g" 2>/dev/null ;; esac
  done
  for g in "${pgids[@]}"; do wait "$g" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $name"; fi
}
# The test's own key (mode 0600), never the user's.
key="$work/key"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key") || exit 1
export XDG_CONFIG_HOME="$work/config"
unset WEFT_SECRET_FILE WEFT_NODES

# start NAME ARGS...: weftd in its own process group; sets port_NAME.
start() {
  local name=$1; shift
  setsid "$weftd" --listen 127.0.0.1:0 --print-port --secret-file "$key" --log-level error \
    --load "$plugin" --workers 2 "$@" > "$work/$name.port" 2> "$work/$name.log" &
  pgids+=($!)
  eval "pid_$name=$!"
  local p=""
  for _ in $(seq 1 100); do
    p=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$work/$name.port")
    [ -n "$p" ] && break
    sleep 0.05
  done
  [ -n "$p" ] || { echo "weftd $name did not start: $(cat "$work/$name.log")"; exit 1; }
  eval "port_$name=$p"
}
start a
start b
nodes="127.0.0.1:$port_a,127.0.0.1:$port_b"

# (1) results: weft-run loads no plugin, so the test.* tasks can only have
# run on the nodes; the cluster's table counts the 4 named-task nodes.
out=$("$run" -n "$nodes" -k "$key" --wait 20 -s -P joined -P primes -r "$work/ok.run" \
      -t "$work/ok.json" -d "$work/ok.dot" "$tests/ok.wg" 2>"$work/ok.err")
rc=$?
check "cluster run: exit 0" test "$rc" -eq 0
check "cluster run: results" test "$out" = "$(printf 'HELLO, WORLD\n1060')"
check "cluster run: summary" grep -Eq '^weft-run: shout: 4 done, 0 failed, 0 skipped, 0 cancelled of 4 nodes in [0-9.]+ s$' "$work/ok.err"
check "cluster run: every named task ran on a node" \
  grep -Eq '^weft-run: cluster: 4 of 4 graph nodes ran on cluster nodes; 0 retried \(0 resends\), 0.000 s lost to failures$' "$work/ok.err"
check "cluster run: both nodes joined" \
  bash -c "grep -q '^weft-run: node 127.0.0.1:$port_a up$' '$work/ok.err' && grep -q '^weft-run: node 127.0.0.1:$port_b up$' '$work/ok.err'"
check "cluster run: cluster statistics" grep -q '^ total: 4 jobs, ' "$work/ok.err"
check "cluster run: run file, trace and dot written" \
  bash -c "test \$(grep -c '^node [0-9]* [a-z]* done 0 ' '$work/ok.run') -eq 4 && grep -q traceEvents '$work/ok.json' && grep -q '^digraph \"shout\"' '$work/ok.dot'"

# (2) a task's failure on a node: exit 1, the summary names it
"$run" -n "$nodes" -k "$key" "$tests/fail.wg" 2>"$work/fail.err"
rc=$?
check "failing task: exit 1" test "$rc" -eq 1
check "failing task: summary" grep -Eq "^weft-run: breaks: 2 done, 1 failed, 1 skipped, 0 cancelled of 4 nodes in [0-9.]+ s. first failure: node 'broken' returned 3 \(unknown error\)$" "$work/fail.err"

# (3) the nodes from $WEFT_NODES; --local runs here instead (plugin loaded)
out=$(WEFT_NODES="$nodes" WEFT_SECRET_FILE="$key" "$run" -q -P joined "$tests/ok.wg" 2>&1)
check "WEFT_NODES: exit 0, result" test "$out" = "HELLO, WORLD"
out=$(WEFT_NODES="$nodes" "$run" --local -l "$plugin" -q -P joined "$tests/ok.wg" 2>&1)
check "--local: exit 0, result" test "$out" = "HELLO, WORLD"

# (4) a cluster that never comes up: system failure, the message says so
"$run" -n "127.0.0.1:$port_a,127.0.0.1:1" -k "$key" --wait 1 "$tests/ok.wg" 2>"$work/down.err"
rc=$?
check "cluster down: exit 4" test "$rc" -eq 4
check "cluster down: message" \
  grep -q "^weft-run: the cluster did not come up within 1 s (2 of its 2 nodes needed): .*127.0.0.1:1" "$work/down.err"
"$run" -n "127.0.0.1:$port_a,127.0.0.1:1" -k "$key" --min-nodes 1 --wait 5 -q -P joined \
  "$tests/ok.wg" >"$work/min.out" 2>"$work/min.err"
rc=$?
check "--min-nodes 1 of 2: runs on the node that is up" \
  bash -c "test $rc -eq 0 && test \"\$(cat '$work/min.out')\" = 'HELLO, WORLD'"

# (5) key files: missing, readable by others, too short: bad input (3)
"$run" -n "$nodes" -k "$work/nokey" "$tests/ok.wg" 2>"$work/k1.err"
rc=$?
check "missing key: exit 3 and message" \
  bash -c "test $rc -eq 3 && grep -q '^weft-run: cannot make the cluster: key file $work/nokey' '$work/k1.err'"
cp "$key" "$work/open.key" && chmod 644 "$work/open.key"
"$run" -n "$nodes" -k "$work/open.key" "$tests/ok.wg" 2>"$work/k2.err"
rc=$?
check "key readable by others: exit 3 and message" \
  bash -c "test $rc -eq 3 && grep -q 'accessible by group or others (mode 0644): refused' '$work/k2.err'"
(umask 077; echo short > "$work/short.key")
"$run" -n "$nodes" -k "$work/short.key" "$tests/ok.wg" 2>"$work/k3.err"
rc=$?
check "short key: exit 3 and message" \
  bash -c "test $rc -eq 3 && grep -q 'holds 5 bytes: a key needs at least 32' '$work/k3.err'"
# another key than the nodes': they refuse it, the cluster never comes up
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$work/other.key")
"$run" -n "$nodes" -k "$work/other.key" --wait 1 "$tests/ok.wg" 2>"$work/k4.err"
rc=$?
check "wrong key: exit 4, authentication named" \
  bash -c "test $rc -eq 4 && grep -q 'did not come up within 1 s' '$work/k4.err' && grep -qi 'auth' '$work/k4.err'"

# (6) usage errors: exit 2
for args in "--min-nodes 3 -n $nodes" "-n a:1,,b:2" "-n bad:host:x" "--wait -1 -n $nodes" \
            "--key-file $key" "--local -n $nodes"; do
  # shellcheck disable=SC2086
  "$run" $args "$tests/ok.wg" >/dev/null 2>"$work/usage.err"
  rc=$?
  check "usage ($args): exit 2" test "$rc" -eq 2
done
check "usage message: --min-nodes" bash -c "'$run' --min-nodes 3 -n '$nodes' '$tests/ok.wg' 2>&1 | grep -q -- '--min-nodes 3, but --nodes lists only 2'"

# (6b) a node killed (kill -9) in the middle of a run: the run completes
# with the exact result; the summary counts the graph nodes sent again
{
  echo "weft-graph 1"; echo "name naps"
  for i in $(seq 1 40); do
    echo "node s$i test.sleep \"100\""; echo "node u$i test.upper \"x$i;\""; echo "edge s$i u$i"
  done
  echo "node all test.concat"
  for i in $(seq 1 40); do echo "edge u$i all"; done
} > "$work/naps.wg"
want=$(for i in $(seq 1 40); do printf 'X%d;' "$i"; done)
"$run" -n "$nodes" -k "$key" --wait 20 -s -P all "$work/naps.wg" >"$work/naps.out" 2>"$work/naps.err" &
rpid=$!
for _ in $(seq 1 200); do
  [ "$(grep -c ' up$' "$work/naps.err" 2>/dev/null)" -ge 2 ] && break
  sleep 0.05
done
sleep 0.3
{ kill -KILL -- "-$pid_b"; wait "$pid_b"; } 2>/dev/null
for _ in $(seq 1 600); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
wait "$rpid"
rc=$?
check "node killed mid-run: exit 0, exact result" \
  bash -c "test $rc -eq 0 && test \"\$(cat '$work/naps.out')\" = '$want'"
check "node killed mid-run: 81 done, some graph nodes retried" \
  bash -c "grep -Eq '^weft-run: naps: 81 done, 0 failed, 0 skipped, 0 cancelled of 81 nodes' '$work/naps.err' &&
           grep -Eq '^weft-run: cluster: 81 of 81 graph nodes ran on cluster nodes; [1-9][0-9]* retried' '$work/naps.err'"
check "node killed mid-run: the cluster's table shows the loss" \
  grep -Eq "^ 127.0.0.1:$port_b +no .* [1-9][0-9]* +1\$" "$work/naps.err"

# (7) discovery: a node that announces itself on loopback is found
dport=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768 on)
start c --announce "127.0.0.1:$dport" --announce-interval 0.2
out=$("$run" --discover "127.0.0.1:$dport" -k "$key" --wait 20 -q -P joined "$tests/ok.wg" 2>"$work/disc.err")
rc=$?
check "discovery: exit 0, result" bash -c "test $rc -eq 0 && test '$out' = 'HELLO, WORLD'"
{ kill -KILL -- "-$pid_c"; wait "$pid_c"; } 2>/dev/null

# (8) Slurm: a step of 3 tasks on hosts 127.0.0.[1-3] (all loopback):
# rank 0 runs weft-run with WEFT_NODES, ranks 1 and 2 serve; rank 2 starts
# 2 s after the client and joins. The serving ranks exit by themselves once
# the client is gone (--slurm-linger 1).
sport=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768 on)
slurm_env=(SLURM_NTASKS=3 SLURM_STEP_NODELIST='127.0.0.[1-3]' SLURM_STEP_NUM_NODES=3
           SLURM_STEP_TASKS_PER_NODE='1(x3)' SLURM_JOB_NODELIST='ignored[1-9]')
env "${slurm_env[@]}" SLURM_PROCID=0 "$weftd" --slurm --listen ":$sport" --secret-file "$key" \
  -- sh -c 'echo "WEFT_NODES=$WEFT_NODES WEFT_SECRET_FILE=$WEFT_SECRET_FILE"' \
  >"$work/slurm-env.out" 2>"$work/slurm-env.err"
check "slurm rank 0: WEFT_NODES and WEFT_SECRET_FILE" \
  test "$(cat "$work/slurm-env.out")" = "WEFT_NODES=127.0.0.2:$sport,127.0.0.3:$sport WEFT_SECRET_FILE=$key"
setsid env "${slurm_env[@]}" SLURM_PROCID=1 "$weftd" --slurm --listen ":$sport" --secret-file "$key" \
  --load "$plugin" --workers 2 --slurm-linger 1 >"$work/rank1.out" 2>"$work/rank1.log" &
r1=$!; pgids+=($r1)
t0=$(date +%s.%N)
setsid env "${slurm_env[@]}" SLURM_PROCID=0 "$weftd" --slurm --listen ":$sport" --secret-file "$key" \
  -- "$run" --wait 20 -s -P joined -P primes "$tests/ok.wg" >"$work/rank0.out" 2>"$work/rank0.err" &
r0=$!; pgids+=($r0)
sleep 2
setsid env "${slurm_env[@]}" SLURM_PROCID=2 "$weftd" --slurm --listen ":$sport" --secret-file "$key" \
  --load "$plugin" --workers 2 --slurm-linger 1 >"$work/rank2.out" 2>"$work/rank2.log" &
r2=$!; pgids+=($r2)
for _ in $(seq 1 300); do kill -0 "$r0" 2>/dev/null || break; sleep 0.1; done
wait "$r0"
rc=$?
t1=$(date +%s.%N)
check "slurm: rank 0's weft-run exits 0 with the results" \
  bash -c "test $rc -eq 0 && test \"\$(cat '$work/rank0.out')\" = \"\$(printf 'HELLO, WORLD\n1060')\""
check "slurm: the late rank joined (2 s after the client)" \
  bash -c "grep -q '^weft-run: node 127.0.0.3:$sport up$' '$work/rank0.err' && awk -v a=$t0 -v b=$t1 'BEGIN{exit !(b - a >= 2)}'"
check "slurm: both serving ranks in the cluster's table" \
  bash -c "grep -Eq '^ 127.0.0.2:$sport +yes' '$work/rank0.err' && grep -Eq '^ 127.0.0.3:$sport +yes' '$work/rank0.err'"
lingered=1
for r in $r1 $r2; do
  for _ in $(seq 1 100); do kill -0 "$r" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$r" 2>/dev/null; then lingered=0; else wait "$r" || lingered=0; fi
done
check "slurm: serving ranks exit 0 once the client is gone" test "$lingered" -eq 1
check "slurm: a serving rank logs its place" \
  grep -q "slurm rank 1 of 3 (host 2 of 3, task 1 there): serving on 127.0.0.2:$sport" "$work/rank1.log"
env SLURM_NTASKS=3 SLURM_PROCID=0 "$weftd" --slurm -- true 2>"$work/slurm-bad.err"
rc=$?
check "slurm: no node list: exit 2 and message" \
  bash -c "test $rc -eq 2 && grep -q 'none of SLURM_STEP_NODELIST, SLURM_JOB_NODELIST, SLURM_NODELIST is set' '$work/slurm-bad.err'"
"$weftd" -- true 2>"$work/slurm-bad2.err"
rc=$?
check "a command without --slurm: exit 2" \
  bash -c "test $rc -eq 2 && grep -q \"a command after '--' needs --slurm\" '$work/slurm-bad2.err'"

echo "weft-run cluster: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
