#!/usr/bin/env bash
# Instructions per request (callgrind: repeatable whatever else the machine runs) for the
# M/M/1, M/M/16 and web-tier benchmark models, one thread, counting only the run itself:
#
#   benches/instructions.sh [BINARY]    (default: target/release/scalesim)
#
# Prints `model instructions requests instructions-per-request`. Needs valgrind.
set -euo pipefail
bin=${1:-target/release/scalesim}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for model in mm1 mm16 web-tier; do
    ins=$(valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
        --toggle-collect='scalesim::experiment::run_unit*' \
        "$bin" run "$here/$model.ron" --out "$work/out" --threads 1 --quiet 2>&1 |
        awk '/Collected/ {print $4}')
    reqs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(int(d['points'][0]['metrics']['requests']['mean']))" "$work/out/summary.json")
    awk -v m="$model" -v i="$ins" -v r="$reqs" 'BEGIN { printf "%-9s %12d %8d %6.0f\n", m, i, r, i / r }'
done
