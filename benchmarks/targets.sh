#!/bin/bash
# The targets of a server for ten thousand (docs/performance.md, "Where the targets stand"):
# messenger with --gather 0, messenger with the default --gather 20 and ngircd, one fanout.py
# run each in turn, for each configuration, ROUNDS times; one summary line per run.
# Usage: benchmarks/targets.sh [ROUNDS]   (from the checkout, after `make bench-deps`)
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BENCH=(.venv/bin/python benchmarks/fanout.py --pin --timeout 180)
FIGURES='server CPU per million deliveries \(s\)|server: delivery rounds|latency p50 \(ms\)|latency p99 \(ms\) |server: fan-out p50|server: fan-out p99|deliveries/s  |lost  '

one() {  # LABEL GATHER|ngircd FANOUT-ARGS...
  local label=$1 gather=$2 out
  shift 2
  if [ "$gather" = ngircd ]; then
    out=$("${BENCH[@]}" --server ngircd "$@" 2>&1)
  else
    out=$(MESSENGER_GATHER=$gather "${BENCH[@]}" --server messenger "$@" 2>&1)
  fi
  echo "== $label $gather: $(echo "$out" | grep -E "$FIGURES" | tr -s ' │' ' ' | tr '\n' ';')"
}

for _ in $(seq "$ROUNDS"); do
  for g in 0 20 ngircd; do one 100x10x50 $g --clients 100 --senders 10 --messages 500 --rate 50; done
  for g in 0 20 ngircd; do one 500-flat-out $g --clients 500 --senders 10 --messages 200; done
  for g in 0 20 ngircd; do one 1000x10x50 $g --clients 1000 --senders 10 --messages 250 --rate 50; done
  for g in 0 20 ngircd; do one 1000-flat-out $g --clients 1000 --senders 10 --messages 200; done
done
