#!/usr/bin/env bash
# Generator CPU per request, closed model: 50 keep-alive connections against
# barrage target's / endpoint for DUR seconds, HDR recording on; the target on
# CPU 0, the generator on CPU 1; Barrage, wrk and vegeta interleaved REPS times.
# The last line is: generator_us_per_req barrage=X wrk=Y ratio=Z (medians).
source "$(dirname "$0")/lib.sh"
DUR=${DUR:-10}
REPS=${REPS:-3}
CONNS=${CONNS:-50}
if [[ -z ${BENCH_IN_NETNS:-} ]]; then
  install_tools wrk vegeta
  build_barrage
fi
in_netns "$@"
RES=$WORK/results/generator-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
trap stop_target EXIT
start_target
URL="http://$HOST:$PORT/"
timeout 5 taskset -c 1 wrk -t1 -c"$CONNS" -d1s "$URL" >/dev/null 2>&1 || true # warm-up
for r in $(seq "$REPS"); do
  log "rep $r: barrage"
  gen_run "barrage_$r" "$BIN/barrage-gen" -url "$URL" -c "$CONNS" -d "${DUR}s"
  log "rep $r: wrk"
  gen_run "wrk_$r" wrk -t1 -c"$CONNS" -d"${DUR}s" "$URL"
  log "rep $r: vegeta"
  echo "GET $URL" >"$RES/targets"
  gen_run "vegeta_$r" vegeta attack -targets="$RES/targets" -rate=0 -workers="$CONNS" -max-workers="$CONNS" -duration="${DUR}s" -output="$RES/vegeta_$r.bin"
  vegeta report -type=json "$RES/vegeta_$r.bin" >"$RES/vegeta_$r.out" 2>/dev/null || true
  rm -f "$RES/vegeta_$r.bin"
done
stop_target
python3 - "$RES" "$REPS" "$DUR" <<'PY'
import json, re, statistics, sys
res, reps, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def requests(tool, out):
    if tool == 'barrage':
        return json.loads(out)['requests']
    if tool == 'wrk':
        return int(re.search(r'(\d+) requests in', out).group(1))
    return json.loads(out)['requests']
rows = {}
for tool in ('barrage', 'wrk', 'vegeta'):
    for r in range(1, reps + 1):
        try:
            u, s, rss, el = open(f'{res}/{tool}_{r}.time').read().split()[-4:]
            n = requests(tool, open(f'{res}/{tool}_{r}.out').read())
            rows.setdefault(tool, []).append(((float(u) + float(s)) * 1e6 / n, n / dur, int(rss) / 1024))
        except Exception as e:
            print(f'{tool} rep {r}: no result ({e})')
print(f'closed model, {dur:.0f} s, 50 connections, generator pinned to CPU 1, target to CPU 0; medians of {reps}')
print(f'{"tool":8} {"us CPU/req":>11} {"req/s":>10} {"RSS MiB":>8}   (all reps: us/req)')
med = {}
for tool, v in rows.items():
    med[tool] = statistics.median(x[0] for x in v)
    print(f'{tool:8} {med[tool]:11.2f} {statistics.median(x[1] for x in v):10.0f} {statistics.median(x[2] for x in v):8.1f}   ' + ' '.join(f'{x[0]:.2f}' for x in v))
b, w = med.get('barrage', float('nan')), med.get('wrk', float('nan'))
print(f'results: {res}')
print(f'generator_us_per_req barrage={b:.2f} wrk={w:.2f} ratio={b / w:.2f}')
PY
