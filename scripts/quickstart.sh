#!/usr/bin/env bash
# make run: start the built-in demo target on loopback, run the quickstart
# scenario against it, print where the report is. The target is stopped at the
# end, and exits by itself after 10 minutes should this script be killed.
set -euo pipefail
bin=${1:-bin/barrage}
addr=${2:-127.0.0.1:18080}
ready=$(mktemp)
trap 'kill "$target_pid" 2>/dev/null || true; rm -f "$ready"' EXIT
"$bin" target --listen "$addr" --latency lognormal:2ms,0.6 --max-life 10m --ready-file "$ready" >/dev/null &
target_pid=$!
for _ in $(seq 100); do [[ -s $ready ]] && break; sleep 0.1; done
[[ -s $ready ]] || { echo "the demo target did not start on $addr" >&2; exit 1; }
"$bin" run examples/quickstart.yaml --target "http://$(cat "$ready")"
