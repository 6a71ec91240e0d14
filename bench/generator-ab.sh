#!/usr/bin/env bash
# Generator CPU per request of two revisions, interleaved: bench/gen built
# from REV (default: the last commit) and from the working tree run turn by
# turn, REPS times each, DUR seconds, 50 keep-alive connections against
# barrage target's / endpoint (target on CPU 0, generator on CPU 1). Taking
# turns cancels the drift of a shared machine that separate runs of
# generator.sh show (the same code measured 19.8 and 23.0 us/request in
# two runs back to back). The last line is:
#   generator_ab_us_per_req base=X head=Y change=Z% (medians)
#
#   bash bench/generator-ab.sh fb7dc99
source "$(dirname "$0")/lib.sh"
REV=${1:-HEAD}
DUR=${DUR:-8}
REPS=${REPS:-6}
CONNS=${CONNS:-50}
if [[ -z ${BENCH_IN_NETNS:-} ]]; then
  install_tools
  build_barrage
  log "building bench/gen at $REV"
  tree=$(mktemp -d)
  git -C "$ROOT" worktree add -q --detach "$tree" "$REV"
  (cd "$tree" && go build -o "$BIN/barrage-gen-base" ./bench/gen)
  git -C "$ROOT" worktree remove --force "$tree"
fi
in_netns "$@"
RES=$WORK/results/generator-ab-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
trap stop_target EXIT
start_target
URL="http://$HOST:$PORT/"
for r in $(seq "$REPS"); do
  log "rep $r"
  gen_run "base_$r" "$BIN/barrage-gen-base" -url "$URL" -c "$CONNS" -d "${DUR}s"
  gen_run "head_$r" "$BIN/barrage-gen" -url "$URL" -c "$CONNS" -d "${DUR}s"
done
stop_target
python3 - "$RES" "$REPS" <<'PY'
import json, statistics, sys
res, reps = sys.argv[1], int(sys.argv[2])
med = {}
for side in ('base', 'head'):
    us = []
    for r in range(1, reps + 1):
        user, sys_ = map(float, open(f'{res}/{side}_{r}.time').read().split()[:2])
        us.append(1e6 * (user + sys_) / json.load(open(f'{res}/{side}_{r}.out'))['requests'])
    med[side] = statistics.median(us)
    print(f'{side:5} median {med[side]:.2f} us/req   ' + ' '.join(f'{u:.2f}' for u in us))
print(f'results: {res}')
print(f"generator_ab_us_per_req base={med['base']:.2f} head={med['head']:.2f} change={100 * (med['head'] / med['base'] - 1):+.1f}%")
PY
