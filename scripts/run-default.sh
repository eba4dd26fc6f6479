#!/usr/bin/env bash
# run-default.sh -- the README's first command: install the dependencies, build, prepare the
# built-in corpus (Debian's fortunes, one fortune per document), train the default small GPT
# on 2 MPI ranks and print progress, validation loss and a text sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build test
mkdir -p build && bash scripts/build.sh
mkdir -p data
if [ ! -f data/fortunes.h5 ]; then
  ./build/launch/plinth prepare --input '/usr/share/games/fortunes/*' --exclude-suffix .dat \
    --exclude-suffix .u8 --separator % --output data/fortunes.h5
fi
# Several MPI ranks (data parallel, one compute thread each); PLINTH_RANKS overrides the count.
ranks=${PLINTH_RANKS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# A fresh run directory each time (plinth refuses to start a run where an earlier one left newer
# checkpoints); a --log.out_dir=... argument overrides it, and --checkpoint.resume=auto continues one.
run_dir="runs/default-$(date -u +%Y%m%dT%H%M%SZ)"
mpirun -n "$ranks" ./build/launch/plinth train --config configs/default.ini --train.threads=1 \
  --log.out_dir="$run_dir" "$@"
