# netns_common.sh: what the namespace tests share, sourced by
# netns_hosts.sh and netns_graph_chaos.sh after they set WEFTD and their
# namespace prefix P: skip (exit 77) and fail, the record of the
# namespaces made and the processes started (made_ns, pids, tmp), the exit
# trap that stops those processes and removes those namespaces (also on
# failure), the checks that namespaces can be made here (root, ip), and
# mkns, which makes one namespace with its loopback up.
SKIP=77
pids=()
made_ns=()
tmp=""

skip() { echo "SKIP: $*"; exit $SKIP; }
fail() { echo "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  # only pids that are still jobs of this shell: one waited for already
  # may belong to another process by now (pid_max can be 32768)
  local live=" $(jobs -p | tr '\n' ' ') " mine=()
  for pid in "${pids[@]}"; do case "$live" in *" $pid "*) mine+=("$pid") ;; esac; done
  for pid in "${mine[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${mine[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # anything still running inside the test's own namespaces was started
  # by this test (or by a process it started): stop it by id
  for ns in "${made_ns[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "$tmp" ] && rm -rf "$tmp"
  for ns in "${made_ns[@]}"; do
    ip netns list 2>/dev/null | grep -qw "$ns" && { echo "cleanup: $ns still there"; rc=1; }
  done
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "${EUID:-1}" -eq 0 ] || skip "network namespaces need root (uid ${EUID:-unknown})"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
[ -x "$WEFTD" ] || fail "no weftd at $WEFTD"

mkns() {
  if ! out=$(ip netns add "$1" 2>&1); then
    skip "ip netns add refused: $out"
  fi
  made_ns+=("$1")
  ip -n "$1" link set lo up || fail "lo up in $1"
}
