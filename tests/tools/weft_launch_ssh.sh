#!/usr/bin/env bash
# weft-launch-ssh with a fake ssh on PATH (tests/tools/fake-ssh/ssh runs
# the remote command here): starts two weftd "hosts" on loopback ports,
# prints the node list, weft-run runs a graph on them, --stop stops them;
# the key copy, a host that fails and usage errors. Exact expectations;
# prints "weft-launch-ssh: N passed, M failed".
#   weft_launch_ssh.sh LAUNCH WEFT-RUN WEFTD PLUGIN TESTS-DIR WORK-DIR
# Every weftd started (detached, as on a real host) is stopped by its pid
# file on exit (trap), also on failure; every wait is bounded.
set -u
launch=$1 run=$2 weftd=$3 plugin=$4 tests=$5 work=$6
rm -rf "$work" && mkdir -p "$work/run" "$work/remote" && chmod 700 "$work" || exit 1
pass=0 fail=0
cleanup() {
  for f in "$work"/run/weftd-*.pid "$work"/run2/weftd-*.pid; do
    # a pid file left by a weftd that died may name another process now
    [ -f "$f" ] && p=$(cat "$f") && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q weftd &&
      kill -KILL "$p" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $name"; fi
}
export PATH="$tests/fake-ssh:$PATH" FAKE_SSH_LOG="$work/ssh.log"
export XDG_CONFIG_HOME="$work/config"
unset WEFT_SECRET_FILE WEFT_NODES WEFT_SSH
key="$work/key"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key") || exit 1

# Two ports, one per "host" (both are this machine), picked below the
# ephemeral range (32768 on) that other tests' connections use.
p1=$((20000 + RANDOM % 12000)); p2=$((p1 + 1))
nodes=$("$launch" -k "$key" --copy-key --remote-key "$work/remote/key" --listen-host 127.0.0.1 \
        --weftd "$weftd" -l "$plugin" -w 2 --run-dir "$work/run" \
        "127.0.0.1:$p1" "me@127.0.0.1:$p2" 2>"$work/launch.err")
rc=$?
check "launch: exit 0" test "$rc" -eq 0
check "launch: the node list" test "$nodes" = "127.0.0.1:$p1,127.0.0.1:$p2"
check "launch: each host says it listens" \
  bash -c "grep -q '^weft-launch-ssh: 127.0.0.1:$p1: weftd [0-9]* listening on 127.0.0.1:$p1$' '$work/launch.err' &&
           grep -q '^weft-launch-ssh: 127.0.0.1:$p2: weftd [0-9]* listening on 127.0.0.1:$p2$' '$work/launch.err'"
check "launch: ssh in batch mode, user@host kept" \
  bash -c "grep -q '^127.0.0.1 -o BatchMode=yes -o ConnectTimeout=10$' '$work/ssh.log' && grep -q '^me@127.0.0.1 -o BatchMode=yes' '$work/ssh.log'"
check "launch: key copied, mode 0600" \
  bash -c "cmp -s '$key' '$work/remote/key' && test \"\$(stat -c %a '$work/remote/key')\" = 600"
check "launch: pid and log files" \
  bash -c "test -s '$work/run/weftd-$p1.pid' && test -s '$work/run/weftd-$p2.pid' && test -f '$work/run/weftd-$p1.log'"

# the cluster works: weft-run (no plugin of its own) runs the graph there
out=$("$run" -n "$nodes" -k "$key" --wait 20 -q -P joined -P primes "$tests/ok.wg" 2>"$work/run.err")
rc=$?
check "weft-run on the launched nodes: exit 0, results" \
  bash -c "test $rc -eq 0 && test \"\$(printf '%s' '$out')\" = \"\$(printf 'HELLO, WORLD\n1060')\""

# launching again on a port in use: refused, the message says so
"$launch" -k "$key" --listen-host 127.0.0.1 --weftd "$weftd" --run-dir "$work/run" \
  "127.0.0.1:$p1" >"$work/again.out" 2>"$work/again.err"
rc=$?
check "launch again: exit 1, already running" \
  bash -c "test $rc -eq 1 && grep -q 'failed: weftd [0-9]* already runs on port $p1' '$work/again.err' && test ! -s '$work/again.out'"

# stop: SIGTERM by pid file, each gone, pid files removed
pid1=$(cat "$work/run/weftd-$p1.pid") pid2=$(cat "$work/run/weftd-$p2.pid")
"$launch" --stop --run-dir "$work/run" "127.0.0.1:$p1" "127.0.0.1:$p2" 2>"$work/stop.err"
rc=$?
check "stop: exit 0" test "$rc" -eq 0
check "stop: both stopped" \
  bash -c "! kill -0 $pid1 2>/dev/null && ! kill -0 $pid2 2>/dev/null && grep -c 'stopped weftd' '$work/stop.err' | grep -qx 2"
check "stop: pid files removed" bash -c "test ! -e '$work/run/weftd-$p1.pid' && test ! -e '$work/run/weftd-$p2.pid'"
"$launch" --stop --run-dir "$work/run" "127.0.0.1:$p1" 2>"$work/stop2.err"
rc=$?
check "stop again: exit 1, no pid file" \
  bash -c "test $rc -eq 1 && grep -q 'cannot stop: no pid file $work/run/weftd-$p1.pid' '$work/stop2.err'"

# failures: an unreachable host, and weftd that cannot start (its plugin
# is missing) on the others: exit 1, each named, no node list
mkdir -p "$work/run2"
nodes=$("$launch" -k "$key" --listen-host 127.0.0.1 --weftd "$weftd" --run-dir "$work/run2" \
        --wait 5 "127.0.0.1:$p1" unreachable "127.0.0.1:$p2" -l /no/such/plugin.so \
        2>"$work/partial.err")
rc=$?
check "failures: exit 1" test "$rc" -eq 1
check "failures: unreachable host named" \
  grep -q "^weft-launch-ssh: unreachable:7117: failed: ssh: connect to host unreachable port 22: Connection refused" "$work/partial.err"
check "failures: a weftd that cannot start shows its log" \
  bash -c "grep -q '^weft-launch-ssh: 127.0.0.1:$p1: failed: weftd did not start; the end of its log:' '$work/partial.err' && grep -q 'no/such/plugin.so' '$work/partial.err'"
check "failures: no node list when none came up" test -z "$nodes"
"$launch" --stop --run-dir "$work/run2" "127.0.0.1:$p1" "127.0.0.1:$p2" >/dev/null 2>&1

# usage errors: exit 2 before any ssh
: > "$work/ssh.log"
cp "$key" "$work/open.key" && chmod 644 "$work/open.key"
for args in "" "127.0.0.1" "-k $work/open.key 127.0.0.1" "-k $key -p 0 h" "-k $key h:99999" \
            "-k $key --bogus h" "-k $key -w many h"; do
  # shellcheck disable=SC2086
  "$launch" $args >/dev/null 2>"$work/usage.err"
  rc=$?
  check "usage ($args): exit 2" test "$rc" -eq 2
done
check "usage: no ssh was run" test ! -s "$work/ssh.log"
check "usage: open key file named" \
  bash -c "'$launch' -k '$work/open.key' h 2>&1 | grep -q \"has mode 644: others may read it\""

echo "weft-launch-ssh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
