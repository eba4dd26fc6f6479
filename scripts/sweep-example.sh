#!/usr/bin/env bash
# sweep-example.sh -- the worked example of docs/sweeps.md, end to end on this machine:
# synthetic corpus -> plinth sweep plan -> run (one job at a time) -> fit -> report, then copies
# the report (markdown, CSV tables, PNG plots) to docs/sweep-example/.
# Usage: scripts/sweep-example.sh [BUILD_DIR (default build)] [WORK_DIR (default BUILD_DIR/sweep-example)]
# Needs a built plinth and gnuplot (scripts/install-deps.sh). Runs as root under mpirun need the
# OMPI_ALLOW_RUN_AS_ROOT variables, which this script sets.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${2:-$build/sweep-example}
plinth=$build/launch/plinth
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p data "$work"
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
[ -f data/synthetic-markov.h5 ] || "$plinth" prepare --synthetic --output data/synthetic-markov.h5 \
    --symbols 128 --order 1 --concentration 0.2 --train-tokens 20000000 --val-tokens 400000
"$plinth" sweep plan configs/sweeps/example.ini --out "$work"
"$plinth" sweep run "$work"
run_end=$(date +%s)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
conditions="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), \
shared with other users; one rank per run, train.threads = 1; plan + run took $((run_end - start)) s of wall time; \
load average $load_before before, $load_after after"
"$plinth" sweep report "$work" --conditions "$conditions"
end=$(date +%s)
mkdir -p docs/sweep-example
cp "$work"/report/report.md "$work"/report/table.csv "$work"/report/*.png "$work"/fit.csv "$work"/plan.csv \
   "$work"/results.csv docs/sweep-example/
cp configs/sweeps/example.ini docs/sweep-example/sweep.ini
echo "sweep-example: plan + run $((run_end - start)) s, total $((end - start)) s; report in docs/sweep-example/"
