#!/usr/bin/env bash
# Coordinated omission: RATE req/s for DUR s against a barrage target that
# freezes the whole server FREEZE every PERIOD (the last FREEZE of each
# period). A tool that measures from the intended send time sees the freeze:
# 20% of requests wait 0..1 s, so p95 ≈ 750 ms and p99 ≈ 950 ms. Barrage,
# vegeta, hey and fortio side by side, each pinned to CPU 1, the target to CPU 0.
source "$(dirname "$0")/lib.sh"
RATE=${RATE:-2000}
DUR=${DUR:-10}
FREEZE=${FREEZE:-1s}
PERIOD=${PERIOD:-5s}
TOOLS=${TOOLS:-"barrage vegeta hey fortio"}
if [[ -z ${BENCH_IN_NETNS:-} ]]; then
  install_tools vegeta hey fortio
  build_barrage
fi
in_netns "$@"
RES=$WORK/results/freeze-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
trap stop_target EXIT
start_target --freeze "$FREEZE" --freeze-every "$PERIOD"
URL="http://$HOST:$PORT/"
echo "GET $URL" >"$RES/targets"
CONNS=50
for tool in $TOOLS; do
  command -v "$tool" >/dev/null || [[ $tool == barrage ]] || { log "$tool not installed: skipped"; continue; }
  reset_target # restarts the freeze schedule: freezes at [4 s, 5 s) and [9 s, 10 s)
  log "$tool at $RATE/s"
  case $tool in
    barrage) gen_run barrage "$BIN/barrage-gen" -url "$URL" -rate "$RATE" -max-vus $((RATE * 2)) -d "${DUR}s" ;;
    vegeta)
      gen_run vegeta vegeta attack -targets="$RES/targets" -rate="$RATE/1s" -duration="${DUR}s" -output="$RES/vegeta.bin"
      vegeta report -type=json "$RES/vegeta.bin" >"$RES/vegeta.out" 2>/dev/null || true
      rm -f "$RES/vegeta.bin" ;;
    hey) gen_run hey hey -z "${DUR}s" -c "$CONNS" -q $((RATE / CONNS)) "$URL" ;;
    fortio) gen_run fortio fortio load -quiet -c "$CONNS" -qps "$RATE" -t "${DUR}s" -p "50,95,99" -json "$RES/fortio.out" "$URL" ;;
  esac
  sleep 1
done
stop_target
python3 - "$RES" "$TOOLS" "$DUR" <<'PY'
import json, os, re, sys
res, tools, dur = sys.argv[1], sys.argv[2].split(), float(sys.argv[3])
print(f'freeze test: {dur:.0f} s, the whole target frozen 1 s every 5 s; latencies in ms')
print(f'{"tool":8} {"requests":>9} {"p50":>8} {"p95":>8} {"p99":>8} {"max":>8}')
rows = {}
for tool in tools:
    path = f'{res}/{tool}.out'
    if not os.path.exists(path): continue
    out = open(path).read()
    try:
        if tool == 'barrage':
            j = json.loads(out); row = (j['requests'], j['p50_ms'], j['p95_ms'], j['p99_ms'], j['max_ms'])
        elif tool == 'vegeta':
            j = json.loads(out); L = j['latencies']
            row = (j['requests'], L['50th'] / 1e6, L['95th'] / 1e6, L['99th'] / 1e6, L['max'] / 1e6)
        elif tool == 'fortio':
            j = json.loads(out); h = j['DurationHistogram']; P = {p['Percentile']: p['Value'] * 1000 for p in h['Percentiles']}
            row = (h['Count'], P[50], P[95], P[99], h['Max'] * 1000)
        else:
            n = sum(int(x) for x in re.findall(r'\[\d+\]\s+(\d+) responses', out))
            pct = lambda p: float(re.search(rf'{p}%+ in ([\d.]+) secs', out).group(1)) * 1000
            row = (n, pct(50), pct(95), pct(99), float(re.search(r'Slowest:\s+([\d.]+) secs', out).group(1)) * 1000)
    except Exception as e:
        print(f'{tool}: no result ({e})'); continue
    rows[tool] = row
    print(f'{tool:8} {row[0]:>9} {row[1]:>8.1f} {row[2]:>8.1f} {row[3]:>8.1f} {row[4]:>8.1f}')
print(f'results: {res}')
if 'barrage' in rows:
    b = rows['barrage']
    v = rows.get('vegeta', (0, 0, float('nan'), float('nan')))
    print(f'freeze_latency_ms barrage_p95={b[2]:.0f} barrage_p99={b[3]:.0f} vegeta_p95={v[2]:.0f} vegeta_p99={v[3]:.0f} expected_p95=750 expected_p99=950')
PY
