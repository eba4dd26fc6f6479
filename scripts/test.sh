#!/usr/bin/env bash
# test.sh -- the README's second command: install the dependencies, build, run the whole
# test suite (ctest: unit, mpi, integration; cuda tests skip without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build test
mkdir -p build && bash scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd build && ctest --output-on-failure --timeout 1200 "$@"
