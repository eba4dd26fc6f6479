#!/usr/bin/env bash
# run_allreduce.sh -- plinth's all_reduce vs raw MPI_Allreduce at 2 and 4 ranks; writes
# bench/results/allreduce.md. Run from the repository root after building (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
out=bench/results/allreduce.md
{
  echo "# Communicator all_reduce vs raw MPI_Allreduce"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) by \`bash bench/comm/run_allreduce.sh\` on $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs), Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), shared-memory transport, git $(git rev-parse --short HEAD)."
  for n in 2 4; do
    echo
    mpirun -n "$n" build/bench/comm/bench_allreduce
  done
} | tee "$out"
