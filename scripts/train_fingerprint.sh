#!/usr/bin/env bash
# train_fingerprint.sh -- trains seven layouts for 50 steps with one plinth binary and writes, per
# layout, every step's loss / gradient norm / validation loss / learning rate (as printed in
# metrics.jsonl: 9 significant digits, enough to tell float32 values apart) and an md5 over every
# floating-point dataset of the final checkpoint (weights and both AdamW moments). Two binaries
# whose fingerprints are equal file by file train bit-identically (how issue 16 checked that the
# device seam changed no number on the CPU).
#
#   bash scripts/train_fingerprint.sh PLINTH_BINARY OUT_DIR       (about a minute on 2 cores)
#   for f in OUT_A/*.losses OUT_A/*.ckptsum; do cmp "$f" "OUT_B/${f##*/}"; done   (silent = identical)
#
# Layouts: configs/default.ini on 1 process (2 threads) and 2 ranks as dp 2, tp 2 + sequence
# parallelism, pp 2, dp 2 + ZeRO-1; configs/llama-small.ini (on the byte corpus) on 1 process
# and tp 2. Needs data/fortunes.h5 (scripts/run-default.sh prepares it) and /usr/bin/python3 h5py.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$(realpath -m "$2")
cd "$(dirname "$0")/.."
[[ -f data/fortunes.h5 ]] || { echo "train_fingerprint: data/fortunes.h5 is missing (run scripts/run-default.sh)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$OUT"
mkdir -p "$OUT"
common=(--train.steps=50 --log.interval=1 --checkpoint.interval=0 --sample.tokens=0 --eval.interval=25)
run() {
  local name=$1 n=$2
  shift 2
  mpirun -n "$n" "$BIN" train "${common[@]}" --log.out_dir="$OUT/$name" "$@" >"$OUT/$name.log" 2>&1 \
    || { echo "train_fingerprint: $name failed" >&2; tail "$OUT/$name.log" >&2; exit 1; }
  /usr/bin/python3 - "$OUT/$name" >"$OUT/$name.losses" <<'PY'
import json, sys
for line in open(sys.argv[1] + "/metrics.jsonl"):
    d = json.loads(line)
    print(d["step"], d["loss"], d["grad_norm"], d["val_loss"], d["lr"])
PY
  /usr/bin/python3 - "$OUT/$name/checkpoints/step_00000050" >"$OUT/$name.ckptsum" <<'PY'
import glob, hashlib, sys
import h5py
h = hashlib.md5()
for f in sorted(glob.glob(sys.argv[1] + "/shard_*.h5")):
    with h5py.File(f, "r") as fh:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
                h.update(name.encode())
                h.update(obj[()].tobytes())
        fh.visititems(visit)
print(h.hexdigest())
PY
  rm -rf "${OUT:?}/$name"
}
run default_1 1 --config configs/default.ini --train.threads=2
run default_dp2 2 --config configs/default.ini --train.threads=1
run default_tp2sp 2 --config configs/default.ini --train.threads=1 --parallel.tp=2 --parallel.sequence_parallel=1
run default_pp2 2 --config configs/default.ini --train.threads=1 --parallel.pp=2
run default_zero 2 --config configs/default.ini --train.threads=1 --parallel.zero=1
run llama_1 1 --config configs/llama-small.ini --data.corpus=data/fortunes.h5 --train.threads=2 --train.micro_batch=8
run llama_tp2 2 --config configs/llama-small.ini --data.corpus=data/fortunes.h5 --train.threads=1 --parallel.tp=2 \
  --train.micro_batch=8
echo "train_fingerprint: $(ls "$OUT"/*.losses | wc -l) layouts in $OUT"
