# Shared helpers of the bench/ scripts. Everything they start listens on
# 127.0.0.1 only and runs inside a private network namespace (unshare --net)
# that has nothing but loopback; every load run is bounded by `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/barrage-bench}
BIN=$WORK/bin
HOST=127.0.0.1 # never change: loopback only
PORT=${PORT:-18090}
VEGETA_VER=v12.13.0
HEY_VER=v0.1.5
FORTIO_VER=v1.68.2
export PATH=$BIN:/usr/local/go/bin:$PATH
mkdir -p "$BIN"

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

install_tools() { # tool names: wrk vegeta hey fortio
  local t pkgs=()
  [[ -x /usr/bin/time ]] || pkgs+=(time)
  for t in "$@"; do
    case $t in
      wrk) command -v wrk >/dev/null || pkgs+=(wrk) ;;
    esac
  done
  if ((${#pkgs[@]})); then
    log "apt-get install ${pkgs[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
  local gobin=(env GOBIN="$BIN" GOFLAGS=-mod=mod)
  for t in "$@"; do
    case $t in
      vegeta) [[ -x $BIN/vegeta ]] || { log "go install vegeta"; (cd /tmp && "${gobin[@]}" go install github.com/tsenart/vegeta/v12@$VEGETA_VER); } ;;
      hey) [[ -x $BIN/hey ]] || { log "go install hey"; (cd /tmp && "${gobin[@]}" go install github.com/rakyll/hey@$HEY_VER); } ;;
      fortio) [[ -x $BIN/fortio ]] || { log "go install fortio"; (cd /tmp && "${gobin[@]}" go install fortio.org/fortio@$FORTIO_VER) || log "fortio did not build; skipped"; } ;;
    esac
  done
}

build_barrage() {
  log "building barrage and bench/gen"
  (cd "$ROOT" && go build -o "$BIN/barrage" ./cmd/barrage && go build -o "$BIN/barrage-gen" ./bench/gen)
}

# in_netns re-runs the calling script inside a private network namespace.
in_netns() {
  if [[ -z ${BENCH_IN_NETNS:-} ]] && unshare --net true 2>/dev/null; then
    exec unshare --net env BENCH_IN_NETNS=1 bash "$0" "$@"
  fi
  ip link set lo up 2>/dev/null || true
}

TARGET_PID=""
start_target() { # extra flags for barrage target
  local ready
  ready=$(mktemp)
  nice -n -10 taskset -c 0 "$BIN/barrage" target --listen "$HOST:$PORT" --max-life 10m --ready-file "$ready" "$@" >"$WORK/target.log" 2>&1 &
  TARGET_PID=$!
  for _ in $(seq 100); do [[ -s $ready ]] && break; sleep 0.05; done
  [[ -s $ready ]] || { echo "target did not start" >&2; exit 1; }
  rm -f "$ready"
}

stop_target() { [[ -n $TARGET_PID ]] && kill "$TARGET_PID" 2>/dev/null; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""; }

reset_target() { curl -s -X POST "http://$HOST:$PORT/_/reset" >/dev/null; }

# gen_run ID CMD...: runs CMD pinned to CPU 1 under /usr/bin/time; results in $RES/ID.{out,time}
gen_run() {
  local id=$1
  shift
  nice -n -10 taskset -c 1 /usr/bin/time -f '%U %S %M %e' -o "$RES/$id.time" timeout -k 2 75 "$@" >"$RES/$id.out" 2>"$RES/$id.err" || true
}
