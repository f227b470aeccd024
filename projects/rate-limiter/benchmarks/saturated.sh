#!/usr/bin/env bash
# A cross-check of pass-memory with the target saturated: wrk (C, a fraction of autocannon's CPU
# per request) drives the same bundled server, so the target, not the generator, sets the pace.
# The kit's report uses autocannon, which saturates first on 2 cores (see the README's Benchmark).
# It prints each target's per-round req/s ratio to bare Hono and their median; nothing is saved.
#
#   apt-get install -y wrk
#   pnpm --filter @kit/rate-limiter bench --smoke --scenario pass-memory --no-save   # builds the bundle
#   bash benchmarks/saturated.sh [rounds=7] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
seconds=${2:-5}
bundle=dist/bench/limiter-server.js
command -v wrk > /dev/null || { echo "needs wrk (apt-get install -y wrk)" >&2; exit 1; }
[[ -f $bundle ]] || { echo "no $bundle: run the smoke benchmark first (see above)" >&2; exit 1; }

# name=environment, in the order measured; pass-memory's targets, fixed window and GCRA.
targets=(
  "bare-hono=VARIANT=bare"
  "floor/headers-only=VARIANT=floor"
  "floor/headers-only, handler=VARIANT=floor FORM=handler"
  "kit/fixed-window=VARIANT=kit BLOCK_CACHE=false"
  "kit/fixed-window, handler=VARIANT=kit FORM=handler BLOCK_CACHE=false"
  "kit/gcra=VARIANT=kit ALGORITHM=gcra BLOCK_CACHE=false"
  "kit/gcra, handler=VARIANT=kit FORM=handler ALGORITHM=gcra BLOCK_CACHE=false"
  "rlf/memory=VARIANT=rlf"
)
port=$((20000 + RANDOM % 20000))
results=$(mktemp)
pid=
trap 'rm -f "$results"; [[ -n $pid ]] && kill "$pid" 2> /dev/null' EXIT

# Interleaved and rotated as @kit/bench runs them: round 2 starts one target later, and so on.
for round in $(seq 1 "$rounds"); do
  for i in "${!targets[@]}"; do
    target=${targets[$(((i + round - 1) % ${#targets[@]}))]}
    name=${target%%=*}
    # shellcheck disable=SC2086 # the environment is a list of words
    env PORT=$port LIMIT=1000000000 ${target#*=} node "$bundle" > /dev/null &
    pid=$!
    for _ in $(seq 1 100); do # up to 10 s to listen
      curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
      sleep 0.1
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" || { echo "$name did not start" >&2; exit 1; }
    wrk -t1 -c50 -d1s "http://127.0.0.1:$port/limited" > /dev/null # warm-up
    rps=$(wrk -t1 -c50 -d"${seconds}s" "http://127.0.0.1:$port/limited" | awk '/Requests\/sec/ { print $2 }')
    kill "$pid" && wait "$pid" || true
    pid=
    printf '%s\t%s\t%s\n' "$round" "$name" "$rps" | tee -a "$results" >&2
  done
done

# Per round, each target's req/s over bare Hono's; then the median of those ratios.
node - "$results" <<'JS'
const lines = require('node:fs').readFileSync(process.argv[2], 'utf8').trim().split('\n')
const rows = lines.map((line) => line.split('\t'))
const rps = new Map(rows.map(([round, name, value]) => [`${round}\t${name}`, Number(value)]))
const rounds = [...new Set(rows.map(([round]) => round))]
for (const name of new Set(rows.map(([, name]) => name))) {
  const ratios = rounds
    .map((round) => rps.get(`${round}\t${name}`) / rps.get(`${round}\tbare-hono`))
    .sort((a, b) => a - b)
  const mid = ratios.length / 2
  const median = ratios.length % 2 ? ratios[Math.floor(mid)] : (ratios[mid - 1] + ratios[mid]) / 2
  const [min, max] = [ratios[0], ratios.at(-1)].map((x) => x.toFixed(2))
  console.log(`${name.padEnd(30)} ${median.toFixed(2)}x bare Hono (${min}-${max})`)
}
JS
