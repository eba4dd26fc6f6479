#!/usr/bin/env bash
# ab_train_step.sh -- two builds of bench_train_step against each other, interleaved (A B A B ...)
# so that drift of the machine hits both alike: the paired before/after check of a change that
# must not slow training (issue 16, the device seam).
#
#   bash bench/ab_train_step.sh BEFORE_BIN AFTER_BIN        (about 6 minutes with the defaults)
#
# For each config (CONFIGS, default "S M G", the shapes of bench/run_vs_torch.sh), thread count
# (1 and 2) and OpenBLAS environment (asis, unset; as run_vs_torch.sh), runs PAIRS rounds
# (default 3; G: PAIRS_G, default 1) of A then B, each after waiting for an idle machine (bench/idle.sh), and prints
# the median tokens/s of each side and after/before. Both binaries train on the same random
# batch with the same seed: their first losses must agree (printed).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A=$1
B=$2
PAIRS=${PAIRS:-3}
PAIRS_G=${PAIRS_G:-1}
IDLE_MAX_PCT=${IDLE_MAX_PCT:-15}
IDLE_WAIT_S=${IDLE_WAIT_S:-60}
source "$ROOT/bench/idle.sh"
declare -A SHAPE=(
  [S]="--vocab 256 --layers 4 --embd 128 --heads 4 --seq 128 --batch 16"
  [M]="--vocab 256 --layers 6 --embd 384 --heads 6 --seq 256 --batch 8"
  [G]="--vocab 50257 --layers 12 --embd 768 --heads 12 --seq 256 --batch 4")
declare -A STEPS=([S]="--steps 10 --warmup 2" [M]="--steps 4 --warmup 1" [G]="--steps 3 --warmup 1")
env_prefix() { [[ $1 == unset ]] && echo "-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" || echo ""; }
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; A=$A; B=$B; $PAIRS rounds (G: $PAIRS_G)"
printf '| config | threads | env | A tok/s (median) | B tok/s (median) | B/A | A runs | B runs | first loss A, B |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for cfg in ${CONFIGS:-S M G}; do
  n=$PAIRS; [[ $cfg == G ]] && n=$PAIRS_G
  for th in 1 2; do
    for envn in asis unset; do
      ta=(); tb=(); la=""; lb=""
      for ((i = 0; i < n; i++)); do
        for side in A B; do
          bin=$A; [[ $side == B ]] && bin=$B
          wait_idle >/dev/null
          # shellcheck disable=SC2046
          line=$(env $(env_prefix "$envn") OMP_NUM_THREADS="$th" "$bin" ${SHAPE[$cfg]} ${STEPS[$cfg]} --threads "$th" \
                 --seed 1 --sgemm-seconds 0.05)
          v=$(field "$line" tokens_per_s)
          l=$(field "$line" losses | tr -d '[] ' | cut -d, -f1)
          if [[ $side == A ]]; then ta+=("$v"); la=$l; else tb+=("$v"); lb=$l; fi
        done
      done
      ma=$(median "${ta[@]}"); mb=$(median "${tb[@]}")
      printf '| %s | %d | %s | %.1f | %.1f | **%.3f** | %s | %s | %s, %s |\n' "$cfg" "$th" "$envn" "$ma" "$mb" \
        "$(echo "$mb / $ma" | bc -l)" "$(printf '%.0f ' "${ta[@]}")" "$(printf '%.0f ' "${tb[@]}")" "$la" "$lb"
    done
  done
done
