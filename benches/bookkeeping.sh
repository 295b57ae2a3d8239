#!/usr/bin/env bash
# A service's per-replica bookkeeping against fleet size (callgrind instructions):
#
#   function  a request to a function-style service of N warm instances (cap 2N, 10 requests/s
#             per instance, 10 ms of work): instructions per request, marginal as in fleet.sh
#             (two run lengths, difference over difference in requests)
#   shrunk    a fleet of N scheduled down to N/100 (at least 1) at 1 s, its calls to the
#             service's own round robin afterwards (10 requests/s per replica left):
#             instructions per request, marginal as for `function`
#   reconcile a fleet of N scheduled down to N/2 at 1 s and back to N at 2 s: instructions per
#             replica changed (the run with the schedule minus the run without, over N)
#   grow      a fleet of N/10 scheduled up to N at 1 s: instructions per replica added
#   ring      the same growth behind a balancer hashing keys on a ring (RingHash, 160
#             points per replica, keys uniform over 10^6): instructions per replica added
#   rollout   a rolling update (25% surge and unavailable, 1 s startup) of N replicas:
#             instructions per replica replaced
#   loss      a region loss of N replicas for 2 s, at a tenth of a request per replica and
#             second: instructions per replica crashed and recovered
#   busy      the same loss with two requests in flight per replica (4 workers, 1 s of work,
#             2 requests per replica and second, 5 s): a crash fails the replica's own jobs.
#             Instructions per request of the run with the loss (the loss fails requests
#             that would have cost more to complete, so a difference of runs says nothing)
#
#   benches/bookkeeping.sh [BINARY]    (default: target/release/scalesim)
#
# KINDS and SIZES narrow the run, e.g. KINDS="loss" SIZES="8 100" benches/bookkeeping.sh: a
# binary whose bookkeeping grows with the fleet takes hours at 10,000 replicas under callgrind.
#
# Prints `what replicas instructions`. Needs valgrind and python3.
set -euo pipefail
bin=${1:-target/release/scalesim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

experiment() { # kind replicas arg (requests for `function`, else 1 with the change, 0 without)
    python3 - "$@" <<'PY'
import sys
kind, n, arg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work = 'workers: 1, service_time: Exponential(mean: "10ms")'
faults, network, front, target, keys = "", "", "", "app", ""
if kind == "ring":
    kind, target, keys = "grow", "lb", ", keys: Uniform(n: 1000000)"
    front = '"lb": Balancer(target: "app", algorithm: RingHash()),'
if kind == "function":
    rate = n * 10.0
    app = (f'Service(replicas: {n}, service_time: Exponential(mean: "10ms"), '
           f'function: Function(cap: {2 * n}, scaling_rate: None))')
    duration = f"{arg / rate:.6f}s"
elif kind == "shrunk":
    left = max(1, n // 100)
    rate = left * 10.0
    app = (f"Service(replicas: {n}, {work}, autoscaler: Autoscaler(min: {n}, max: {n}, "
           f'metric: Utilization(0.5), schedule: [Scheduled(at: "1s", min: {left}, max: {left})]))')
    duration = f"{1 + arg / rate:.6f}s"
elif kind in ("reconcile", "grow"):
    start = n if kind == "reconcile" else n // 10
    if kind == "reconcile":
        steps = f'Scheduled(at: "1s", min: {n // 2}, max: {n // 2}), Scheduled(at: "2s", min: {n}, max: {n})'
        duration = "3s"
    else:
        steps = f'Scheduled(at: "1s", min: {n}, max: {n})'
        duration = "2s"
    schedule = f"schedule: [{steps}]" if arg else ""
    app = (f"Service(replicas: {start}, {work}, autoscaler: Autoscaler(min: {start}, "
           f"max: {start}, metric: Utilization(0.5), {schedule}))")
    rate = float(start)
else:  # rollout, loss, busy
    rate = {"rollout": float(n), "loss": n / 10, "busy": 2.0 * n}[kind]
    if kind == "busy":
        work = 'workers: 4, service_time: Exponential(mean: "1s")'
    app = f'Service(replicas: {n}, {work}, startup: Deterministic(value: "1s"))'
    duration = "5s" if kind == "busy" else "20s"
    if kind == "rollout" and arg:
        faults = 'faults: [Deploy(node: "app", at: "1s", strategy: Rolling)],'
    if kind in ("loss", "busy"):
        network = ('network: Network(regions: {"east": ["app"], "edge": ["users"]}, links: '
                   '[(from: "edge", to: "east", latency: Deterministic(value: "1ms"))]),')
        if arg:
            faults = 'faults: [RegionLoss(region: "east", at: "1s", for: "2s")],'
print(f'''(
    model: (nodes: {{
        "users": Client(target: "{target}", arrivals: Poisson(rate: {rate}){keys}),
        {front}
        "app": {app},
    }}, {network}),
    duration: "{duration}",
    seed: 1,
    {faults}
)''')
PY
}

. "$(dirname "$0")/callgrind.sh"

kinds=${KINDS:-function shrunk reconcile grow ring rollout loss busy}
sizes=${SIZES:-8 100 1000 10000}
wanted() { [[ " $kinds " == *" $1 "* ]]; }

for kind in function shrunk; do
    wanted "$kind" || continue
    for n in $sizes; do
        experiment "$kind" "$n" 20000 >"$work/a.ron"
        experiment "$kind" "$n" 40000 >"$work/b.ron"
        printf "%-9s %6d %8s per request\n" "$kind" "$n" "$(marginal "$work/a.ron" "$work/b.ron")"
    done
done
wanted busy && for n in $sizes; do
    experiment busy "$n" 1 >"$work/b.ron"
    read -r ib rb <<<"$(measure "$work/b.ron")"
    awk -v n="$n" -v ib="$ib" -v rb="$rb" \
        'BEGIN { printf "busy      %6d %8.0f per request\n", n, ib / rb }'
done
for kind in reconcile grow ring rollout loss; do
    wanted "$kind" || continue
    for n in $sizes; do
        [[ "$kind" = grow || "$kind" = ring ]] && [ "$n" -lt 100 ] && continue
        experiment "$kind" "$n" 0 >"$work/a.ron"
        experiment "$kind" "$n" 1 >"$work/b.ron"
        read -r ia _ <<<"$(measure "$work/a.ron")"
        read -r ib _ <<<"$(measure "$work/b.ron")"
        changed=$n
        [[ "$kind" = grow || "$kind" = ring ]] && changed=$((n - n / 10))
        awk -v k="$kind" -v n="$n" -v ia="$ia" -v ib="$ib" -v c="$changed" \
            'BEGIN { printf "%-9s %6d %8.0f per replica changed\n", k, n, (ib - ia) / c }'
    done
done
