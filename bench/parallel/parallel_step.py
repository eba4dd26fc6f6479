"""parallel_step.py -- tokens/s of the same training run on one process and on 2 MPI ranks
(data parallel, ZeRO-1, tensor parallel, tensor + sequence parallel), with the scaling
efficiency, the share of step time in exposed gradient reduction / TP communication, the
per-rank optimizer state, and a check that every layout trains the same losses.
Run from the repository root after building:  /usr/bin/python3 bench/parallel/parallel_step.py
Writes bench/results/parallel_step.md."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.getcwd()
PLINTH = os.path.join(ROOT, "build/launch/plinth")
CORPUS = os.path.join(ROOT, "data/fortunes.h5")
WORK = "/tmp/plinth-bench-parallel"
STEPS = int(os.environ.get("STEPS", "12"))
MODEL = ["--model.n_layer=4", "--model.n_embd=256", "--model.n_head=8", "--model.seq_len=256"]
COMMON = ["train", "--config", "configs/default.ini", f"--data.corpus={CORPUS}", f"--train.steps={STEPS}",
          "--train.global_batch=16", "--eval.interval=0", "--eval.windows=16", "--sample.tokens=0",
          "--log.interval=1", "--log.peak_gflops=150", "--optim.warmup_steps=2", *MODEL]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")

RUNS = [  # name, ranks, threads per rank, extra args
    ("1 process, 1 thread", 1, 1, ["--train.micro_batch=8"]),
    ("1 process, 2 threads", 1, 2, ["--train.micro_batch=8"]),
    ("dp=2", 2, 1, ["--train.micro_batch=8"]),
    ("dp=2 ZeRO-1", 2, 1, ["--train.micro_batch=8", "--parallel.zero=1"]),
    ("tp=2", 2, 1, ["--train.micro_batch=8", "--parallel.tp=2"]),
    ("tp=2 +sequence parallel", 2, 1, ["--train.micro_batch=8", "--parallel.tp=2", "--parallel.sequence_parallel=1"]),
]


def run(name, ranks, threads, extra):
    out_dir = os.path.join(WORK, re.sub(r"[^a-z0-9]+", "_", name.lower()))
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [PLINTH, *COMMON, f"--log.out_dir={out_dir}", f"--train.threads={threads}", *extra]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), *cmd]
    env = dict(ENV, OMP_NUM_THREADS=str(threads))
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{name} failed:\n{p.stdout}\n{p.stderr}")
    metrics = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl"))]
    steady = metrics[2:]   # skip warm-up steps
    tps = sum(m["tokens_per_s"] for m in steady) / len(steady)
    exposed = re.search(r"not hidden by backward: ([0-9.]+)%", p.stdout)
    tpcomm = re.search(r"tensor-parallel communication: ([0-9.]+)%", p.stdout)
    opt = re.search(r"optimizer state (\d+) MiB", p.stdout)
    return {"name": name, "ranks": ranks, "threads": threads, "tokens_per_s": tps,
            "exposed": float(exposed.group(1)) if exposed else 0.0, "tp_comm": float(tpcomm.group(1)) if tpcomm else None,
            "opt_mib": int(opt.group(1)) if opt else None, "losses": [m["loss"] for m in metrics],
            "wall_s": time.time() - t0}


def main():
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(CORPUS):
        sys.exit(f"{CORPUS} missing: run scripts/run-default.sh once (it prepares the corpus)")
    rows = [run(*r) for r in RUNS]
    base1 = rows[0]["tokens_per_s"]
    ref = rows[0]["losses"]
    lines = [
        "# Parallel training step on this machine",
        "",
        f"Measured {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} by `/usr/bin/python3 bench/parallel/parallel_step.py` "
        f"(git {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}), "
        f"{os.cpu_count()} cores. Model: GPT-2 block, 4 layers, d=256, 8 heads, T=256, byte vocabulary; global batch 16 "
        f"sequences; {STEPS} steps, the first 2 excluded.",
        "",
        "| layout | ranks x threads | tokens/s | vs 1 process 1 thread | scaling efficiency | exposed grad reduction | TP communication | optimizer state / rank | max loss diff vs 1 process |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cores = r["ranks"] * r["threads"]
        speed = r["tokens_per_s"] / base1
        diff = max(abs(a - b) / abs(b) for a, b in zip(r["losses"], ref))
        lines.append(f"| {r['name']} | {r['ranks']} x {r['threads']} | {r['tokens_per_s']:.0f} | {speed:.2f}x | "
                     f"{speed / cores:.2f} | {r['exposed']:.1f}% | "
                     f"{'' if r['tp_comm'] is None else str(r['tp_comm']) + '%'} | {r['opt_mib']} MiB | {diff:.1e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs("bench/results", exist_ok=True)
    open("bench/results/parallel_step.md", "w").write(text)


if __name__ == "__main__":
    main()
