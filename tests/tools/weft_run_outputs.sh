#!/usr/bin/env bash
# weft-run's outputs from one run: results (--print), run file, trace, dot
# and SVG, and Ctrl-C cancelling a run. Exact expectations; prints
# "weft-run outputs: N passed, M failed" and exits nonzero on a failure.
#   weft_run_outputs.sh WEFT-RUN WEFT-DOT PLUGIN TESTS-DIR WORK-DIR
set -u
run=$1 dot=$2 plugin=$3 tests=$4 work=$5
rm -rf "$work" && mkdir -p "$work" || exit 1
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $name"; fi
}

out=$("$run" -q -w 2 -l "$plugin" -P joined -P primes -P hello \
      -r "$work/ok.run" -t "$work/ok.json" -d "$work/ok.dot" "$tests/ok.wg" 2>"$work/err")
rc=$?
check "exit 0" test "$rc" -eq 0
check "results printed in order" test "$out" = "$(printf 'HELLO, WORLD\n1060\nHELLO, ')"
check "run file: 4 done nodes, recorded" \
  bash -c "grep -q '^weft-run 1' '$work/ok.run' && grep -q '^recorded yes' '$work/ok.run' &&
           test \$(grep -c '^node [0-9]* [a-z]* done 0 ' '$work/ok.run') -eq 4"
check "trace: one slice per node" /usr/bin/python3 -c "
import json, sys
t = json.load(open('$work/ok.json'))
ev = t['traceEvents'] if isinstance(t, dict) else t
names = sorted(e['name'] for e in ev if e.get('ph') == 'X')
sys.exit(names != ['hello', 'joined', 'primes', 'world'])"
check "dot: digraph with every node done" \
  bash -c "grep -q '^digraph \"shout\"' '$work/ok.dot' && test \$(grep -c 'fillcolor=\"#a5d6a7\"' '$work/ok.dot') -eq 4"
check "weft-dot reads the run file back" \
  bash -c "'$dot' '$tests/ok.wg' '$work/ok.run' | grep -q 'label=\"shout.n4 done of 4 in '"

if command -v dot >/dev/null; then
  "$run" -q -l "$plugin" -d "$work/ok.svg" "$tests/ok.wg" 2>>"$work/err"
  check "svg rendered" grep -q '<svg' "$work/ok.svg"
else
  echo "skipped: svg (graphviz's dot not installed)"; pass=$((pass + 1))
fi

# Ctrl-C: a chain of 20 sleeps of 100 ms, interrupted after about 0.3 s:
# cancelled, exit 1, the summary counts the cancelled nodes.
{
  echo "weft-graph 1"; echo "name naps"
  for i in $(seq 1 20); do echo "node s$i test.sleep \"100\""; done
  printf 'edge'; for i in $(seq 1 20); do printf ' s%d' "$i"; done; echo
} > "$work/naps.wg"
"$run" -w 1 -l "$plugin" -r "$work/naps.run" "$work/naps.wg" 2>"$work/naps.err" &
pid=$!
sleep 0.3
kill -INT "$pid"
wait "$pid"
rc=$?
check "interrupted run exits 1" test "$rc" -eq 1
check "interrupted run: cancelled nodes counted, run file written" \
  bash -c "grep -q 'interrupted: cancelling the run' '$work/naps.err' &&
           grep -Eq 'naps: [1-9][0-9]* done, 0 failed, 0 skipped, [1-9][0-9]* cancelled of 20 nodes' '$work/naps.err' &&
           grep -q ' cancelled ' '$work/naps.run'"

echo "weft-run outputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
