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
. "$here/callgrind.sh"
for model in mm1 mm16 web-tier; do
    read -r ins reqs <<<"$(measure "$here/$model.ron")"
    awk -v m="$model" -v i="$ins" -v r="$reqs" 'BEGIN { printf "%-9s %12d %8d %6.0f\n", m, i, r, i / r }'
done
