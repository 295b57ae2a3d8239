#!/usr/bin/env bash
# Cost per request against fleet size: instructions per request (callgrind) for each
# balancer algorithm in front of 8, 100, 1,000 and 10,000 replicas at the same low load per
# replica (10 requests/s each, 10 ms of work, one worker: 10% busy), keys uniform over 10^6.
#
# The cost is marginal: the difference between runs of two lengths over the difference in
# requests, so building the fleet and writing its metrics (once per run) cancel out.
#
#   benches/fleet.sh [BINARY] [SHORT] [LONG]    (defaults: target/release/scalesim 20000 40000)
#
# ALGORITHMS="RoundRobin Random" picks some (default: every algorithm).
#
# Prints `algorithm replicas instructions-per-request`. Needs valgrind.
set -euo pipefail
bin=${1:-target/release/scalesim}
short=${2:-20000}
long=${3:-40000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

experiment() { # replicas algorithm requests
    local n=$1 alg=$2 reqs=$3
    local rate=$((n * 10))
    python3 - "$n" "$alg" "$reqs" "$rate" <<'PY'
import sys
n, alg, reqs, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if alg == "WeightedRoundRobin":
    # One weight per replica, three distinct values.
    alg = f"WeightedRoundRobin(weights: {[1 + i % 3 for i in range(int(n))]})"
elif alg == "ShardByRange":
    alg = "ShardByRange(keys: 1000000)"
print(f'''(
    model: (nodes: {{
        "users": Client(target: "lb", arrivals: Poisson(rate: {rate}), keys: Uniform(n: 1000000)),
        "lb": Balancer(target: "app", algorithm: {alg}),
        "app": Service(replicas: {n}, workers: 1, service_time: Exponential(mean: "10ms")),
    }}),
    duration: "{reqs / rate:.6f}s",
    seed: 1,
)''')
PY
}

. "$(dirname "$0")/callgrind.sh"

algorithms=${ALGORITHMS:-RoundRobin WeightedRoundRobin Random LeastOutstanding PowerOfChoices() RingHash() Maglev() ShardByHash ShardByRange}
for alg in $algorithms; do
    for n in 8 100 1000 10000; do
        experiment "$n" "$alg" "$short" >"$work/a.ron"
        experiment "$n" "$alg" "$long" >"$work/b.ron"
        printf "%-18s %6d %8s\n" "$alg" "$n" "$(marginal "$work/a.ron" "$work/b.ron")"
    done
done
