#!/usr/bin/env bash
# Instructions per request (callgrind: repeatable whatever else the machine runs) for the
# M/M/1, M/M/16 and web-tier benchmark models, one thread, counting only the run itself;
# then the hard-coded M/M/1 floor (`benches/floor.rs`), bare and keeping the statistics a
# run of the M/M/1 model keeps, if its binary is built (`cargo build --release --example floor`):
#
#   benches/instructions.sh [BINARY]    (default: target/release/scalesim)
#
# Prints `model instructions requests instructions-per-request`. Needs valgrind.
set -euo pipefail
bin=${1:-target/release/scalesim}
floor=${FLOOR:-target/release/examples/floor}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/callgrind.sh"
row() { awk -v m="$1" -v i="$2" -v r="$3" 'BEGIN { printf "%-12s %12d %8d %6.0f\n", m, i, r, i / r }'; }
for model in mm1 mm16 web-tier; do
    read -r ins reqs <<<"$(measure "$here/$model.ron")"
    row "$model" "$ins" "$reqs"
done
if [ -x "$floor" ]; then
    for how in bare stats; do
        read -r ins reqs <<<"$(measure_floor "$floor" "$how")"
        row "floor-$how" "$ins" "$reqs"
    done
else
    echo "(no $floor: cargo build --release --example floor for the floor rows)" >&2
fi
