#!/usr/bin/env bash
# slurm-local-down.sh -- stop the one-machine Slurm cluster of scripts/slurm-local-up.sh, as root.
# Never stops a process by name: only pids that slurm-local-up.sh recorded.
#
#   bash scripts/slurm-local-down.sh                 # every daemon whose pid file is in $PLINTH_SLURM_DIR
#   bash scripts/slurm-local-down.sh --only FILE     # exactly the "<daemon> <pid>" lines of FILE
#                                                    # (written by slurm-local-up.sh --record FILE)
#   --keep-munge                                     # leave munged running
#
# Jobs still in the queue are cancelled first when the slurmctld being stopped is ours. Each daemon
# gets SIGTERM, then SIGKILL after 10 s. A pid is signalled only while /proc/<pid>/comm still names
# the daemon it was recorded as (a reused pid is left alone). Leaves slurm.conf and logs in place.
set -uo pipefail
prog=slurm-local-down
say() { echo "$prog: $*"; }

only= keep_munge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=${2:?--only needs a file}; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --keep-munge) keep_munge=1; shift ;;
    *) echo "$prog: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "$prog: must run as root" >&2; exit 1; }
dir=${PLINTH_SLURM_DIR:-/var/lib/plinth-slurm}

# The (name, pid) pairs to stop.
names=() pids=()
if [ -n "$only" ]; then
  [ -f "$only" ] || { say "$only: no such file; nothing was started, nothing to stop"; exit 0; }
  while read -r name pid; do
    [ -n "${name:-}" ] && [ -n "${pid:-}" ] || continue
    names+=("$name"); pids+=("$pid")
  done < "$only"
else
  for f in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munged.pid"; do
    [ -s "$f" ] || continue
    name=$(basename "$f" .pid); names+=("$name"); pids+=("$(cat "$f")")
  done
fi

comm_of() { case "$1" in slurmd-*) echo slurmd ;; *) echo "$1" ;; esac; }
is_live() { [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$(comm_of "$1")" ]; }

# Cancel queued and running jobs if our slurmctld is among the daemons to stop.
for k in "${!names[@]}"; do
  if [ "${names[$k]}" = slurmctld ] && is_live slurmctld "${pids[$k]}"; then
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs: $jobs"
      # shellcheck disable=SC2086
      timeout 10 scancel $jobs 2>/dev/null
      for _ in $(seq 1 50); do [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
    fi
  fi
done

# stop_group PATTERN: TERM every live daemon whose name matches, wait up to 10 s, KILL the rest.
stop_group() {
  local k sent=()
  for k in "${!names[@]}"; do
    [[ "${names[$k]}" == $1 ]] || continue
    if [ "${names[$k]}" = munged ] && [ "$keep_munge" = 1 ]; then continue; fi
    if is_live "${names[$k]}" "${pids[$k]}"; then
      kill -TERM "${pids[$k]}" 2>/dev/null && sent+=("$k")
    else
      say "${names[$k]} pid ${pids[$k]}: not running"
    fi
    [ -z "$only" ] && rm -f "$dir/${names[$k]}.pid"
  done
  for _ in $(seq 1 100); do
    local left=0
    for k in "${sent[@]}"; do is_live "${names[$k]}" "${pids[$k]}" && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for k in "${sent[@]}"; do
    if is_live "${names[$k]}" "${pids[$k]}"; then
      kill -KILL "${pids[$k]}" 2>/dev/null; say "${names[$k]} pid ${pids[$k]} killed (did not stop on TERM)"
    else
      say "${names[$k]} pid ${pids[$k]} stopped"
    fi
  done
}
# Nodes first, then the controller, munge last (the others authenticate through it).
stop_group 'slurmd-*'
stop_group slurmctld
stop_group munged
if [ -n "$only" ]; then
  # the pid files of the daemons stopped here are stale now
  for k in "${!names[@]}"; do
    f="$dir/${names[$k]}.pid"
    [ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "${pids[$k]}" ] && ! is_live "${names[$k]}" "${pids[$k]}" && rm -f "$f"
  done
fi
exit 0
