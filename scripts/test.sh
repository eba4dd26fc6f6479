#!/usr/bin/env bash
# test.sh -- the README's second command: install the dependencies, build, run the whole
# test suite (ctest: unit, mpi, integration, slurm; cuda tests skip without a GPU). The slurm
# tests start a one-machine Slurm cluster themselves (ctest fixture slurm_cluster_up) and stop
# exactly the daemons they started (slurm_cluster_down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build test slurm
mkdir -p build && bash scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd build && ctest --output-on-failure --timeout 1200 "$@"
