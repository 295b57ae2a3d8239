#!/usr/bin/env bash
# Submits a sharded run of one experiment to Slurm: an array job of SHARDS tasks, each
# running one shard on CPUS cores, and one merge job that runs once every task has ended
# well. Results land in results/NAME (byte-identical to a single `scalesim run`), the
# shards in results/NAME-shard-I, logs in results/logs.
#
#   deploy/slurm/submit.sh EXPERIMENT.ron [SHARDS] [CPUS]    # defaults: 4 shards, 1 CPU
#
# Run it from the repository's root on a login node; every node must see this checkout
# and `results/`, and have `scalesim` on its PATH (`cargo install --path . --locked`).
# Prints the array's and the merge's job ids.
set -euo pipefail

exp="${1:?usage: deploy/slurm/submit.sh EXPERIMENT.ron [SHARDS] [CPUS]}"
shards="${2:-4}"
cpus="${3:-1}"
test -f "$exp" || { echo "no experiment file $exp" >&2; exit 2; }
name="$(basename "$exp" .ron)"
here="$(cd "$(dirname "$0")" && pwd)"

# Slurm opens a job's output file before the job runs: its folder must exist first.
mkdir -p results/logs

array=$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task="$cpus" \
    --job-name="scalesim-$name" --output="results/logs/$name-%A_%a.out" \
    "$here/sweep.sbatch" "$exp")
array="${array%%;*}"
# Submitted here, once: a requeued task cannot submit a second merge.
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --job-name="scalesim-$name-merge" --output="results/logs/$name-merge-%j.out" \
    "$here/merge.sbatch" "$exp")
merge="${merge%%;*}"
echo "$array $merge"
