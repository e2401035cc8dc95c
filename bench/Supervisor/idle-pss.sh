#!/bin/bash
# idle-pss.sh SUPERVISOR [N=10] [WAIT=60] [LABEL]: what N idle supervisors cost together, without the module or a
# rebuild (issue #16). Starts N supervisors of `/bin/sleep 3600` straight from spec files in a fresh state directory,
# waits WAIT seconds, prints their PSS, RSS and private dirty memory summed, then stops them (SIGTERM) and deletes the
# directory. GC settings can be tried through the environment, e.g. DOTNET_GCgen0size=40000 (hexadecimal, 256 KiB).
# KEEP=1 leaves them running and prints their pids, to read /proc/PID/smaps; stop them with kill -TERM PID.
# PREFILL=2048 gives each service a full system_metrics.jsonl (issue #24), so its first heartbeat compacts it: what a
# supervisor holds after its history's compactions, not only before the first (at a 5 s heartbeat, ~2.8 h in).
set -euo pipefail
. "$(dirname "$0")/sleep-spec.sh"
supervisor=$1; n=${2:-10}; wait_s=${3:-60}; label=${4:-$(basename "$supervisor")}
state=$(mktemp -d "${TMPDIR:-/tmp}/st-idle-pss-XXXXXX")
chmod 700 "$state"
pids=()
# Whatever happens, no supervisor of this run is left behind (unless KEEP asks for it).
cleanup() { [ -n "${KEEP:-}" ] && return; kill -TERM "${pids[@]}" 2>/dev/null || true; wait; rm -rf "$state"; }
trap cleanup EXIT
for i in $(seq -w 1 "$n"); do
  write_sleep_spec "$state" "s$i"
  if [ -n "${PREFILL:-}" ]; then
    awk -v n="$PREFILL" 'BEGIN { for (k = 0; k < n; k++) printf "{\"time\":\"2026-01-01T%02d:%02d:%02d.123+00:00\",\"span_ms\":0,\"samples\":1,\"pid\":4242,\"cpu_percent\":0.02,\"cpu_max_percent\":0.02,\"memory_mb\":0.53,\"memory_max_mb\":0.53,\"gpu_memory_mb\":null,\"gpu_memory_max_mb\":null}\n", int(k / 720), int(k / 12) % 60, (k * 5) % 60 }' \
      > "$state/services/s$i/system_metrics.jsonl"
    chmod 600 "$state/services/s$i/system_metrics.jsonl"
  fi
  "$supervisor" --state-dir "$state" --service "s$i" </dev/null >"$state/supervisor-$i.err" 2>&1 &
  pids+=($!)
done
sleep "$wait_s"
pss=0; rss=0; dirty=0
for p in "${pids[@]}"; do
  if [ ! -e "/proc/$p" ]; then echo "supervisor $p exited early:" >&2; cat "$state"/supervisor-*.err >&2; exit 1; fi
  read -r a b c < <(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} /^Private_Dirty:/{d=$2} END{print p, r, d}' "/proc/$p/smaps_rollup")
  pss=$((pss + a)); rss=$((rss + b)); dirty=$((dirty + c))
done
running=$(grep -ho '"status":"running"' "$state"/services/*/status.json | wc -l)
awk -v l="$label" -v n="$n" -v w="$wait_s" -v p="$pss" -v r="$rss" -v d="$dirty" -v run="$running" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
  'BEGIN { printf "%s: %d supervisors (%d running), %d s idle: PSS %.1f MB, RSS %.1f MB, private dirty %.1f MB; load %s\n", l, n, run, w, p/1024, r/1024, d/1024, load }'
if [ -n "${KEEP:-}" ]; then echo "kept: ${pids[*]} in $state"; fi
