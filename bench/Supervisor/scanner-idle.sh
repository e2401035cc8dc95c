#!/bin/bash
# scanner-idle.sh SUPERVISOR [N=10] [WAIT=60]: what the state directory's scanner (issue #22) costs while N supervisors
# idle. Starts N supervisors of `/bin/sleep 3600` from spec files (as idle-pss.sh does), then the scanner
# (SUPERVISOR --scan), lets it settle, and over WAIT seconds reads its CPU time (utime + stime of /proc/PID/stat), its
# wakeups (voluntary and involuntary context switches of all its threads) and its PSS; then SIGKILLs one supervisor
# and times the replacement (status.json naming a new live supervisor_pid). Stops everything and deletes the directory.
set -euo pipefail
. "$(dirname "$0")/sleep-spec.sh"
supervisor=$1; n=${2:-10}; wait_s=${3:-60}
state=$(mktemp -d "${TMPDIR:-/tmp}/st-scanner-idle-XXXXXX")
chmod 700 "$state"
pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; [ -n "${scanner:-}" ] && kill -TERM "$scanner" 2>/dev/null; wait 2>/dev/null || true; sleep 1; pkill -TERM -f "st-scanner-idle" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
for i in $(seq -w 1 "$n"); do
  write_sleep_spec "$state" "s$i"
  "$supervisor" --state-dir "$state" --service "s$i" </dev/null >/dev/null 2>&1 &
  pids+=($!)
done
# Until every supervisor reports its service running.
for i in $(seq -w 1 "$n"); do
  for _ in $(seq 1 100); do grep -q '"status": *"running"' "$state/services/s$i/status.json" 2>/dev/null && break; sleep 0.1; done
done
"$supervisor" --scan --state-dir "$state" </dev/null >/dev/null 2>&1 &
sleep 3
scanner=$(for p in /proc/[0-9]*; do { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "--scan --state-dir $state" && basename "$p"; done | head -1 || true)
[ -n "$scanner" ] || { echo "no scanner running" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { local s=0; for t in /proc/$1/task/*; do s=$((s + $(awk '/ctxt_switches/{x+=$2} END{print x}' "$t/status"))); done; echo $s; }
t0=$(ticks "$scanner"); w0=$(switches "$scanner")
sleep "$wait_s"
t1=$(ticks "$scanner"); w1=$(switches "$scanner")
hz=$(getconf CLK_TCK)
pss=$(awk '/^Pss:/{print $2}' "/proc/$scanner/smaps_rollup")
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$wait_s" 'BEGIN{printf "%.3f", 100 * (b - a) / hz / s}')
wakeups=$(awk -v a="$w0" -v b="$w1" -v s="$wait_s" 'BEGIN{printf "%.2f", (b - a) / s}')
# One supervisor SIGKILLed: how long until status.json names a live replacement.
victim=$(grep -o '"supervisor_pid": *[0-9]*' "$state/services/s01/status.json" | grep -o '[0-9]*$')
start=$(date +%s%N); kill -KILL "$victim"
for _ in $(seq 1 500); do
  now=$(grep -o '"supervisor_pid": *[0-9]*' "$state/services/s01/status.json" | grep -o '[0-9]*$')
  [ "$now" != "$victim" ] && [ -d "/proc/$now" ] && break; sleep 0.01
done
replaced_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "scanner over $n idle supervisors, $wait_s s: CPU ${cpu} % of a core, ${wakeups} wakeups/s, PSS ${pss} KB; a SIGKILLed supervisor replaced in ${replaced_ms} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$now" ] && pids+=("$now")
