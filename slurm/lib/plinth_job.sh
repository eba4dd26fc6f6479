# plinth_job.sh -- sourced by the batch scripts in slurm/ (pretrain.sbatch, sweep_array.sbatch).
# Sets up the site environment, launches one plinth step with srun or mpirun, forwards the
# pre-time-limit signal to it, and requeues the job when plinth saved and asked for it (exit 75).
#
# Site settings (environment variables; set them in the sbatch environment, in a file named by
# PLINTH_SETUP, or in the settings block that `plinth submit` writes):
#   PLINTH_BIN          the plinth binary (default $SLURM_SUBMIT_DIR/build/launch/plinth)
#   PLINTH_LAUNCHER     srun (default) | mpirun (Open MPI's mpirun inside the allocation)
#   PLINTH_SRUN_ARGS    extra srun arguments (default --mpi=pmix: Open MPI under srun needs PMIx;
#                       MPICH builds use --mpi=pmi2)
#   PLINTH_MPIRUN_ARGS  extra mpirun arguments (default none; mpirun takes the ranks and hosts
#                       from the allocation)
#   PLINTH_MODULES      modules to `module load`, space-separated (e.g. "openmpi/4.1 hdf5/1.10")
#   PLINTH_SETUP        a shell file sourced before the launch (site-specific environment)
#   PLINTH_NET_IF       network interface(s) for MPI's TCP traffic, e.g. "ib0" or "eth0,eth1"
#                       (sets OMPI_MCA_btl_tcp_if_include and OMPI_MCA_oob_tcp_if_include)
#   PLINTH_THREADS      compute threads per rank (default: SLURM_CPUS_PER_TASK when set, else
#                       plinth's own choice); exported as OMP_NUM_THREADS
#   PLINTH_REQUEUE      1 (default) = requeue the job when plinth exits with PLINTH_REQUEUE_CODE
#   PLINTH_REQUEUE_CODE 75 (plinth's "checkpoint saved, please requeue" exit code)

_plinth_log() { echo "plinth-job[${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ task $SLURM_ARRAY_TASK_ID}]: $*"; }

# plinth_job_setup: site environment; fails (exit 2) when the binary is missing.
plinth_job_setup() {
  : "${PLINTH_BIN:=${SLURM_SUBMIT_DIR:-.}/build/launch/plinth}"
  : "${PLINTH_LAUNCHER:=srun}"
  : "${PLINTH_SRUN_ARGS:=--mpi=pmix}"
  : "${PLINTH_MPIRUN_ARGS:=}"
  : "${PLINTH_REQUEUE:=1}"
  : "${PLINTH_REQUEUE_CODE:=75}"
  if [ -n "${PLINTH_MODULES:-}" ]; then
    command -v module >/dev/null 2>&1 || { _plinth_log "PLINTH_MODULES is set but 'module' is not available"; exit 2; }
    # shellcheck disable=SC2086
    module load $PLINTH_MODULES || { _plinth_log "module load $PLINTH_MODULES failed"; exit 2; }
  fi
  if [ -n "${PLINTH_SETUP:-}" ]; then
    # shellcheck disable=SC1090
    . "$PLINTH_SETUP" || { _plinth_log "PLINTH_SETUP=$PLINTH_SETUP failed"; exit 2; }
  fi
  if [ -n "${PLINTH_NET_IF:-}" ]; then
    export OMPI_MCA_btl_tcp_if_include="$PLINTH_NET_IF" OMPI_MCA_oob_tcp_if_include="$PLINTH_NET_IF"
  fi
  if [ -n "${PLINTH_THREADS:-${SLURM_CPUS_PER_TASK:-}}" ]; then
    export OMP_NUM_THREADS="${PLINTH_THREADS:-$SLURM_CPUS_PER_TASK}"
  fi
  [ -x "$PLINTH_BIN" ] || { _plinth_log "PLINTH_BIN=$PLINTH_BIN is not an executable (set PLINTH_BIN)"; exit 2; }
  case "$PLINTH_LAUNCHER" in
    srun | mpirun) ;;
    *) _plinth_log "PLINTH_LAUNCHER=$PLINTH_LAUNCHER is neither srun nor mpirun"; exit 2 ;;
  esac
}

# Signal forwarding. Slurm delivers --signal=B:USR1@N to this batch shell (and, for scancel
# --batch, to its children as well); plinth agrees across ranks on the next step boundary, saves
# and exits 75, so one more copy of the signal is harmless.
_plinth_step_pid=
_plinth_signalled=0
_plinth_got_term=0
_plinth_forward() {
  _plinth_signalled=1
  if [ "$1" = TERM ]; then _plinth_got_term=1; fi
  _plinth_log "got SIG$1 at $(date +%T); forwarding it to the job step (pid ${_plinth_step_pid:-none})"
  if [ -n "$_plinth_step_pid" ]; then kill -s "$1" "$_plinth_step_pid" 2>/dev/null || true; fi
}

# plinth_job_run ARGS...: runs `$PLINTH_BIN ARGS` as one job step; returns its exit status, after
# requeueing the job when that status is PLINTH_REQUEUE_CODE -- unless this script got SIGTERM:
# that is `scancel`, preemption (Slurm requeues preemptible jobs itself) or the time limit itself
# (the margin was too short). plinth saves on TERM as well; the job then ends, resubmit to go on.
plinth_job_run() {
  local -a launch
  if [ "$PLINTH_LAUNCHER" = srun ]; then
    # shellcheck disable=SC2206
    launch=(srun $PLINTH_SRUN_ARGS)
  else
    # shellcheck disable=SC2206
    launch=(mpirun $PLINTH_MPIRUN_ARGS)
  fi
  _plinth_log "restart ${SLURM_RESTART_COUNT:-0}, nodes ${SLURM_JOB_NODELIST:-?}, ${SLURM_NTASKS:-?} tasks: ${launch[*]} $PLINTH_BIN $*"
  trap '_plinth_forward USR1' USR1
  trap '_plinth_forward TERM' TERM
  "${launch[@]}" "$PLINTH_BIN" "$@" &
  _plinth_step_pid=$!
  # `wait` returns early when a trapped signal arrives; wait again until the step has ended.
  # A second wait on a step already collected answers 127: keep the status from the first.
  local rc last=
  while :; do
    _plinth_signalled=0
    wait "$_plinth_step_pid"
    rc=$?
    if [ "$rc" = 127 ] && [ -n "$last" ]; then rc=$last; break; fi
    last=$rc
    [ "$_plinth_signalled" = 1 ] || break
  done
  trap - USR1 TERM
  _plinth_step_pid=
  _plinth_log "job step exited with status $rc at $(date +%T)"
  if [ "$rc" = "$PLINTH_REQUEUE_CODE" ] && [ "$_plinth_got_term" = 1 ]; then
    _plinth_log "checkpoint saved after SIGTERM (scancel, preemption or the time limit): not requeueing;" \
      "resubmit the same job to resume (it uses --checkpoint.resume=auto)"
  elif [ "$rc" = "$PLINTH_REQUEUE_CODE" ] && [ "$PLINTH_REQUEUE" = 1 ]; then
    # Slurm keeps a requeued job ineligible for AuthInfo cred_expire + 1 s (120 s by default);
    # `scontrol requeue` also ends this script, so it is the last thing done here.
    _plinth_log "checkpoint saved; requeueing (the job resumes from the newest checkpoint)"
    if scontrol requeue "$SLURM_JOB_ID"; then
      sleep 60 & wait $!   # the requeue ends this script; nothing after it should run
    else
      _plinth_log "scontrol requeue $SLURM_JOB_ID failed (was the job submitted with --no-requeue?)"
    fi
  fi
  return "$rc"
}
