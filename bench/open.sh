#!/usr/bin/env bash
# Open model accuracy: RATE iterations/s for DUR s against barrage target's /
# endpoint; Barrage and vegeta side by side, each pinned to CPU 1, the target
# to CPU 0. Prints the achieved rate (completed requests / DUR) of each and
# Barrage's error against the asked rate.
source "$(dirname "$0")/lib.sh"
RATE=${RATE:-20000}
DUR=${DUR:-10}
REPS=${REPS:-3}
TOOLS=${TOOLS:-"barrage vegeta"}
PRE=${PRE:-} # Barrage: pre-allocated VUs (empty: the scenario default)
if [[ -z ${BENCH_IN_NETNS:-} ]]; then
  install_tools vegeta
  build_barrage
fi
in_netns "$@"
RES=$WORK/results/open-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
trap stop_target EXIT
URL="http://$HOST:$PORT/"
echo "GET $URL" >"$RES/targets"
# A fresh target for every run: a tool that overloads it (thousands of
# connections, a collapsed queue) must not handicap the next one.
for r in $(seq "$REPS"); do
  if [[ " $TOOLS " == *" barrage "* ]]; then
    log "rep $r: barrage at $RATE/s"
    start_target
    gen_run "barrage_$r" "$BIN/barrage-gen" -url "$URL" -rate "$RATE" -d "${DUR}s" ${PRE:+-pre-allocated "$PRE"}
    stop_target
    sleep 1
  fi
  if [[ " $TOOLS " == *" vegeta "* ]]; then
    log "rep $r: vegeta at $RATE/s"
    start_target
    gen_run "vegeta_$r" vegeta attack -targets="$RES/targets" -rate="$RATE/1s" -duration="${DUR}s" -output="$RES/vegeta_$r.bin"
    stop_target
    vegeta report -type=json "$RES/vegeta_$r.bin" >"$RES/vegeta_$r.out" 2>/dev/null || true
    rm -f "$RES/vegeta_$r.bin"
    sleep 1
  fi
done
python3 - "$RES" "$REPS" "$DUR" "$RATE" "$TOOLS" <<'PY'
import json, statistics, sys
res, reps, dur, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
tools = sys.argv[5].split()
print(f'open model: {rate:.0f}/s asked for {dur:.0f} s; achieved = completed requests / {dur:.0f} s')
print(f'{"tool":8} {"rep":>3} {"requests":>9} {"achieved/s":>11} {"error %":>8} {"dropped":>8} {"p50 ms":>8} {"p99 ms":>8} {"CPU s":>6}')
errs = []
for r in range(1, reps + 1):
    for tool in tools:
        try:
            out = json.loads(open(f'{res}/{tool}_{r}.out').read())
            u, s = map(float, open(f'{res}/{tool}_{r}.time').read().split()[:2])
        except Exception as e:
            print(f'{tool} rep {r}: no result ({e})'); continue
        if tool == 'barrage':
            n, dropped, p50, p99 = out['requests'], out['dropped'], out['p50_ms'], out['p99_ms']
        else:
            n, dropped, p50, p99 = out['requests'], 0, out['latencies']['50th'] / 1e6, out['latencies']['99th'] / 1e6
        achieved = n / dur
        err = 100 * (achieved - rate) / rate
        if tool == 'barrage': errs.append(abs(err))
        print(f'{tool:8} {r:>3} {n:>9} {achieved:>11.1f} {err:>8.3f} {dropped:>8} {p50:>8.2f} {p99:>8.2f} {u + s:>6.2f}')
print(f'results: {res}')
if errs:
    print(f'open_rate_error_pct barrage_worst={max(errs):.3f} barrage_median={statistics.median(errs):.3f} asked={rate:.0f}')
PY
