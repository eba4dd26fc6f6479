#!/usr/bin/env bash
# run_allreduce.sh -- plinth's Communicator all-reduce vs raw MPI_Allreduce at 2 and 4 ranks
# (bench_allreduce, see allreduce_bench.cpp); writes bench/results/allreduce.md.
# Run from anywhere after configuring build/ (it builds bench_allreduce itself):
#   bash bench/comm/run_allreduce.sh
# Environment: BUILD=1, RANKS="2 4", MODES=main (all: adds the wait-policy variants, written to
# allreduce_all.md; or a list, see allreduce_bench.cpp), RUNS=3 (runs per rank count: the summary
# gives medians and ranges over them), TRIES=3 (tries per run at most), IDLE_MAX_PCT=10,
# IDLE_WAIT_S=300, BENCH_ARGS=--faults (bench_allreduce options, e.g. "--faults --max=1048576").
# glibc malloc settings in the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, ...) reach
# the ranks and are named in the output.
#
# The machine is shared. Before each run the script waits (up to IDLE_WAIT_S) for the CPUs to be
# idle; bench/measure_run.py measures the CPU share other processes took DURING the run; a run
# above IDLE_MAX_PCT is repeated (up to TRIES tries) and the least contended try is kept. Every
# run's table says how contended it was.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RANKS=${RANKS:-"2 4"}
MODES=${MODES:-main}
TRIES=${TRIES:-3}
RUNS=${RUNS:-3}
BENCH_ARGS=${BENCH_ARGS---faults}
IDLE_MAX_PCT=${IDLE_MAX_PCT:-10}
IDLE_WAIT_S=${IDLE_WAIT_S:-300}
OUT=${OUT:-bench/results/allreduce.md}
[[ $MODES == main ]] || OUT=${OUT%.md}_${MODES//,/-}.md
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# BUILD=0 skips the build (e.g. while someone else builds in build/)
[[ ${BUILD:-1} == 0 ]] || cmake --build build -j2 --target bench_allreduce >/dev/null

source "$ROOT/bench/idle.sh"

TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
for n in $RANKS; do
  for ((run = 1; run <= RUNS; ++run)); do
    best_other=1000
    for ((try = 1; try <= TRIES; ++try)); do
      before=$(wait_idle)
      set +e
      python3 bench/measure_run.py mpirun -n "$n" build/bench/comm/bench_allreduce --modes="$MODES" $BENCH_ARGS \
        >"$TMP/out.md" 2>"$TMP/out.err"
      rc=$?
      set -e
      if ((rc != 0)); then cat "$TMP/out.md" "$TMP/out.err" >&2; echo "bench_allreduce failed at $n ranks" >&2; exit 1; fi
      other=$(sed -n 's/^other_load_pct=//p' "$TMP/out.err" | tail -n 1)
      echo "ranks $n run $run try $try: other load ${before}% before, ${other}% during" >&2
      if ((other < best_other)); then
        best_other=$other
        { echo "$before $other $try"; sed -n '/^|/p' "$TMP/out.md"; } >"$TMP/n$n.run$run"
      fi
      ((other <= IDLE_MAX_PCT)) && break
    done
  done
done

BENCH_ARGS=$BENCH_ARGS python3 - "$TMP" "$OUT" "$RANKS" "$RUNS" "$MODES" "$TRIES" <<'PYEOF'
import os, statistics, subprocess, sys, time
tmp, out, ranks, runs, modes, tries = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4]), sys.argv[5], sys.argv[6]
sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
dirty = sh("git diff --quiet HEAD -- parallel || echo ' + uncommitted changes in parallel/'")
cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
L = ["# Communicator all-reduce vs raw MPI_Allreduce", "",
     f"Measured {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} by `bash bench/comm/run_allreduce.sh` (MODES={modes}, "
     f"RUNS={runs}) on {cpu} ({os.cpu_count()} CPUs), Open MPI "
     f"{sh('mpirun --version | head -1').split()[-1]}, shared-memory transport, git {sh('git rev-parse --short HEAD')}{dirty}"
     f"; bench_allreduce options: `{os.environ.get('BENCH_ARGS', '') or 'none'}`; glibc malloc environment: "
     f"{' '.join(f'`{k}={v}`' for k, v in sorted(os.environ.items()) if k.startswith('MALLOC_')) or 'default'}.",
     "", "busbw = bytes / t x 2(n-1)/n, t the median over repetitions of the slowest rank's time. ratio = raw "
     "time / mode time (> 1: the mode is faster): of the medians, and paired (median over repetitions of the "
     "ratio within one repetition). Summary: medians over the runs, with the range over runs of the paired ratio."]
for n in ranks:
    tables = []
    for r in range(1, runs + 1):
        lines = open(os.path.join(tmp, f"n{n}.run{r}")).read().splitlines()
        before, other, used = lines[0].split()
        rows = [[c.strip() for c in l.strip().strip("|").split("|")] for l in lines[1:]]
        tables.append((before, other, used, rows[0], rows[2:], lines[1:]))
    header = tables[0][3]
    names = [h.replace(" busbw GB/s", "") for h in header[3:] if h.endswith(" busbw GB/s")]
    fault_cols = [i for i, h in enumerate(header) if h.endswith(" faults/call")]   # bench_allreduce --faults
    L += ["", f"## {n} ranks", "", "| size | raw busbw GB/s | " +
          " | ".join(f"{m} busbw GB/s | {m} / raw (paired, range over runs)" for m in names) +
          "".join(f" | {header[i]}" for i in fault_cols) + " |",
          "|---|---|" + "---|---|" * len(names) + "---|" * len(fault_cols)]
    for k, row in enumerate(tables[0][4]):
        col = lambda i: [float(t[4][k][i]) for t in tables]
        cells = [row[0], f"{statistics.median(col(2)):.2f}"]
        for j in range(len(names)):
            bw, paired = col(3 + 3 * j), col(5 + 3 * j)
            cells += [f"{statistics.median(bw):.2f}",
                      f"**{statistics.median(paired):.3f}** ({min(paired):.3f}-{max(paired):.3f})"]
        cells += [f"{statistics.median(col(i)):.0f}" for i in fault_cols]
        L.append("| " + " | ".join(cells) + " |")
    L += ["", "Per run (other processes' CPU use just before / during each run; a run above the limit was repeated, "
          f"at most {tries} tries, the least contended kept):"]
    for r, t in enumerate(tables, 1):
        L += ["", f"Run {r}: other load {t[0]}% / {t[1]}% (try {t[2]}).", ""] + t[5]
text = "\n".join(L) + "\n"
print(text)
open(out, "w").write(text)
PYEOF
