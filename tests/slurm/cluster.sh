#!/usr/bin/env bash
# Runs the Slurm sweep of docs/cluster.md on a real single-node Slurm cluster started here
# (Debian's slurm-wlm and munge, on localhost, a generated minimal configuration), then
# checks that the merged folder is byte-identical to a single `scalesim run`. Stops every
# daemon it started and removes its files, whatever happens.
#
#   tests/slurm/cluster.sh [EXPERIMENT.ron] [SHARDS]     # as root; CI runs it
#
# Needs `scalesim` on PATH (CI puts target/release there).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
exp="${1:-experiments/textbook/mmc.ron}"
shards="${2:-3}"
name="$(basename "$exp" .ron)"
command -v scalesim >/dev/null || { echo "scalesim is not on PATH" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

work="$(mktemp -d /tmp/scalesim-slurm.XXXXXX)"
chmod 755 "$work"
export SLURM_CONF="$work/slurm.conf"
cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "-- the cluster's logs" >&2
    tail -n 20 "$work"/*.log "$work"/run/results/logs/* >&2 2>/dev/null || true
  fi
  scancel --quiet --user="$(id -un)" 2>/dev/null || true
  for d in slurmd slurmctld munged; do
    if [ -f "$work/$d.pid" ]; then
      pid="$(cat "$work/$d.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# munge, with its own key and socket, so nothing of the machine's is touched.
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.sock" \
  --pid-file="$work/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munge.seed"

host="$(hostname -s)"
cpus="$(nproc)"
mkdir -p "$work/state" "$work/spool"
cat > "$SLURM_CONF" <<CONF
ClusterName=scalesim-ci
SlurmctldHost=$host
AuthType=auth/munge
AuthInfo=socket=$work/munge.sock
CredType=cred/munge
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld
slurmd
for _ in $(seq 60); do
  state="$(sinfo -h -o %T 2>/dev/null || true)"
  [ "$state" = "idle" ] && break
  sleep 1
done
[ "$state" = "idle" ] || { echo "the node never came up (state: $state)" >&2; exit 1; }

# The sweep, as docs/cluster.md gives it, in a copy of the repository's experiments.
mkdir -p "$work/run"
cp -r "$repo/experiments" "$repo/models" "$repo/deploy" "$work/run/"
cd "$work/run"
read -r array merge < <(deploy/slurm/submit.sh "$exp" "$shards" 1)
echo "submitted array job $array and merge job $merge"
for _ in $(seq 600); do
  left="$(squeue -h -j "$array,$merge" -o %i 2>/dev/null | wc -l)"
  [ "$left" -eq 0 ] && break
  sleep 1
done
[ "$left" -eq 0 ] || { echo "jobs still queued after 10 minutes" >&2; squeue >&2; exit 1; }
test -s "results/$name/summary.json" || { echo "no merged results: a task or the merge failed" >&2; exit 1; }

scalesim run "$exp" --quiet --out "$work/single"
diff -r "results/$name" "$work/single"
echo "slurm: $shards shards of $exp merged, byte-identical to a single run"
