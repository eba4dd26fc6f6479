#!/usr/bin/env bash
# slurm-local-up.sh -- a one-machine Slurm cluster for plinth's `slurm` tests and for trying the
# templates in slurm/: munged, one slurmctld and N slurmd processes that emulate nodes node1..N,
# all on 127.0.0.1 (each slurmd on its own port). Debian 12, as root; packages from
# `scripts/install-deps.sh slurm`. Writes /etc/slurm/slurm.conf (a foreign one is copied aside).
#
#   bash scripts/slurm-local-up.sh [--record FILE]
#
# --record FILE  append "<daemon> <pid>" for every daemon THIS invocation started, so that
#                `slurm-local-down.sh --only FILE` stops exactly those (the ctest fixture uses it:
#                a cluster that was already up before the tests is reused and left running).
# Idempotent: when the same cluster is already up it starts nothing and says so.
#
# Environment (optional):
#   PLINTH_SLURM_NODES      emulated nodes (default 2)
#   PLINTH_SLURM_CPUS       CPUs declared per node (default max(nproc, 4); may exceed the cores)
#   PLINTH_SLURM_DIR        state, spool, logs, pid files (default /var/lib/plinth-slurm)
#   PLINTH_SLURM_PORT_BASE  slurmd of nodeK listens on PORT_BASE+K (default 17000); slurmctld 6817
#   PLINTH_SLURM_WAIT       seconds to wait for every node to be idle (default 60)
#
# What a one-host cluster needs (each was a failure before it was handled):
#   - SlurmdParameters=config_overrides: the declared CPUs/memory need not match the hardware;
#     without it a node drains with "Low socket*core*thread count".
#   - TmpFS per node (%n): the PMIx plugin creates /tmp/spmix_appdir_<uid>_<job>.<step> on every
#     node; several slurmd on one host collide on that name otherwise.
#   - A TaskProlog exports OMPI_MCA_btl=tcp,self for jobs on more than one node: Open MPI's
#     shared-memory transport crashes between ranks that believe they are on different hosts.
#   - MpiDefault=pmix: Debian's Open MPI starts under srun only with --mpi=pmix.
#   - AuthInfo=cred_expire=5: a requeued job stays ineligible for cred_expire + 1 s (default
#     120 s), and a job cannot shorten that for itself (`scontrol requeue` ends the batch script
#     before it could reset its own StartTime). With bf_interval/sched_interval=2 a requeued job
#     restarts about 8 s after the requeue instead of about 2 minutes.
#   - slurmd 22.05 needs a cgroup filesystem mounted under /sys/fs/cgroup, even with
#     proctrack/linuxproc.
set -euo pipefail
prog=slurm-local-up
say() { echo "$prog: $*"; }
die() { echo "$prog: error: $*" >&2; exit 1; }

record=
while [ $# -gt 0 ]; do
  case "$1" in
    --record) record=${2:?--record needs a file}; shift 2 ;;
    --record=*) record=${1#--record=}; shift ;;
    *) die "unknown argument '$1' (usage: slurm-local-up.sh [--record FILE])" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
for c in munged munge slurmctld slurmd sinfo scontrol; do
  command -v "$c" >/dev/null || die "'$c' not found: run 'bash scripts/install-deps.sh slurm'"
done
awk '$2 ~ "^/sys/fs/cgroup" && ($3 == "cgroup" || $3 == "cgroup2") {ok=1} END {exit !ok}' /proc/mounts ||
  die "no cgroup filesystem under /sys/fs/cgroup; slurmd 22.05 cannot start without one"

nodes=${PLINTH_SLURM_NODES:-2}
ncpu=$(nproc); cpus=${PLINTH_SLURM_CPUS:-$(( ncpu > 4 ? ncpu : 4 ))}
dir=${PLINTH_SLURM_DIR:-/var/lib/plinth-slurm}
port_base=${PLINTH_SLURM_PORT_BASE:-17000}
wait_s=${PLINTH_SLURM_WAIT:-60}
conf=/etc/slurm/slurm.conf
marker="# written by plinth scripts/slurm-local-up.sh"
host=$(hostname -s)
mem_mb=$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
node_mem=$(( mem_mb * 8 / 10 / nodes ))
t_start=$(date +%s.%N)

# pid_running FILE NAME: the pid in FILE is a live process called NAME (guards against reused pids)
pid_running() {
  local p
  p=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
note_started() {  # note_started NAME PIDFILE
  local p; p=$(cat "$2")
  say "started $1 pid $p"
  if [ -n "$record" ]; then echo "$1 $p" >> "$record"; fi
}
idle_nodes() { sinfo -h -N -o '%N %T' 2>/dev/null | awk '$2 ~ /^(idle|mixed|allocated)/' | sort -u | wc -l; }

mkdir -p "$dir/state" "$dir/log" /etc/slurm
for i in $(seq 1 "$nodes"); do mkdir -p "$dir/spool/node$i" "$dir/tmp/node$i"; done

cat > "$dir/task_prolog.sh" <<'EOF'
#!/bin/sh
# Emulated nodes share one host: Open MPI must not use shared memory between them.
if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ] && [ -z "${OMPI_MCA_btl:-}" ]; then
  echo "export OMPI_MCA_btl=tcp,self"
fi
EOF
chmod 755 "$dir/task_prolog.sh"

wanted=$(mktemp)
trap 'rm -f "$wanted"' EXIT
cat > "$wanted" <<EOF
$marker (nodes=$nodes cpus=$cpus dir=$dir)
ClusterName=plinth-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=5
MpiDefault=pmix
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$dir/task_prolog.sh
SwitchType=switch/none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=$(( port_base + 1 ))
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
TmpFS=$dir/tmp/%n
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=2,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
MinJobAge=3600
KillWait=5
Waittime=0
NodeName=node[1-$nodes] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$(( port_base + 1 ))-$(( port_base + nodes ))] CPUs=$cpus RealMemory=$node_mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

all_up() {
  pid_running "$dir/slurmctld.pid" slurmctld || return 1
  for i in $(seq 1 "$nodes"); do pid_running "$dir/slurmd-node$i.pid" slurmd || return 1; done
  [ "$(idle_nodes)" -ge "$nodes" ]
}
if cmp -s "$wanted" "$conf" && all_up; then
  say "already up (nothing started): $(sinfo -h -o '%D nodes %C cpus(A/I/O/T) %T' | tr '\n' ' ')"
  exit 0
fi

# Something differs or is down: stop the daemons an earlier run of this script started (their
# pid files are in $dir), keep munged, then start afresh.
if [ -f "$conf" ] && ! grep -q "^$marker" "$conf"; then
  cp -p "$conf" "$conf.before-plinth.$(date +%s)"
  say "copied the existing $conf aside"
fi
PLINTH_SLURM_DIR=$dir bash "$(dirname "$0")/slurm-local-down.sh" --keep-munge >/dev/null 2>&1 || true
install -m 644 "$wanted" "$conf"

# munge: reuse a running munged (then it is not ours and is never stopped by us).
if munge -n >/dev/null 2>&1; then
  say "munged already running; reused"
else
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
  chmod 400 /etc/munge/munge.key; chmod 755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do [ -s /run/munge/munged.pid ] && munge -n >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n >/dev/null 2>&1 || die "munged did not come up (see /var/log/munge/munged.log)"
  cp /run/munge/munged.pid "$dir/munged.pid"
  note_started munged "$dir/munged.pid"
fi

slurmctld -c    # -c: start from empty state (no jobs or drain reasons left from an earlier cluster)
for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
pid_running "$dir/slurmctld.pid" slurmctld || die "slurmctld did not start; see $dir/log/slurmctld.log"
note_started slurmctld "$dir/slurmctld.pid"
for i in $(seq 1 "$nodes"); do
  slurmd -N "node$i"
  for _ in $(seq 1 50); do pid_running "$dir/slurmd-node$i.pid" slurmd && break; sleep 0.1; done
  pid_running "$dir/slurmd-node$i.pid" slurmd || die "slurmd node$i did not start; see $dir/log/slurmd-node$i.log"
  note_started "slurmd-node$i" "$dir/slurmd-node$i.pid"
done

deadline=$(( $(date +%s) + wait_s ))
until [ "$(idle_nodes)" -ge "$nodes" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    sinfo -N -o '%N %T %E' >&2 || true
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd-node1.log" >&2 || true
    die "nodes not idle after ${wait_s} s"
  fi
  sleep 0.2
done
say "up in $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s: $nodes nodes x $cpus CPUs"
sinfo
