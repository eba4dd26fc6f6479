#!/usr/bin/python3
"""pp_bubble.py -- pipeline parallelism at pp = 2 against theory, with the real plinth binary.

For each number of micro-batches m (and schedule), runs the same training job
  (a) on one process (the whole model, gradient accumulation over the same m micro-batches), and
  (b) at pp = 2 under mpirun (two stages of 4 layers, one core each),
and reports
  speedup          = tokens/s (b) / tokens/s (a)
  theory           = 2 x (1 - bubble), bubble = (pp-1)/(m+pp-1) (1F1B, GPipe) or (pp-1)/(v*m+pp-1) (interleaved)
  efficiency       = speedup / theory (1.0: the only loss is the schedule's bubble)
  blocked          = share of step time the ranks spent blocked on pipeline messages (bubble + transfer),
                     next to the theoretical bubble.
Both runs use one compute thread per rank. Each configuration is run `--repeat` times, alternating
(a) and (b), and the median is reported; "other load" is the machine's busy share from other
processes during the run (bench/measure_run.py), to flag contended figures.

usage: pp_bubble.py --plinth build/launch/plinth --corpus data/fortunes.h5 [--steps 30] [--repeat 3]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = ["--model.arch=gpt2", "--model.n_layer=8", "--model.n_embd=256", "--model.n_head=4", "--model.seq_len=128"]


def run(cmd, env, out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)   # each run saves a final checkpoint there
    p = subprocess.run([sys.executable, os.path.join(HERE, "..", "measure_run.py"), *cmd], capture_output=True,
                       text=True, env=env)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out}")
    tps = float(re.search(r"throughput: (\d+) tokens/s", out).group(1))
    m = re.search(r"blocked on pipeline messages ([\d.]+)%", out)
    other = int(re.search(r"other_load_pct=(\d+)", out).group(1))
    return tps, float(m.group(1)) / 100 if m else None, other


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plinth", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--out", default="/tmp/plinth_pp_bench")
    a = ap.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    B = 2
    configs = [(m, "1f1b", 1) for m in (2, 4, 8, 16)] + [(m, "interleaved", 2) for m in (4, 8)] + [(8, "gpipe", 1)]
    print("| m | schedule | one process tok/s | pp=2 tok/s | speedup | theory 2(1-bubble) | efficiency | "
          "blocked on messages | bubble (theory) | other load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m, sched, v in configs:
        common = ["train", *MODEL, f"--data.corpus={a.corpus}", f"--train.steps={a.steps}", "--train.threads=1",
                  f"--train.micro_batch={B}", f"--train.global_batch={B * m}", "--eval.interval=0", "--eval.windows=8",
                  "--sample.tokens=0", "--log.interval=1000", "--log.peak_gflops=1", "--checkpoint.interval=0",
                  f"--log.out_dir={a.out}"]
        one, two, blocked, other = [], [], [], []
        for _ in range(a.repeat):
            t, _, o = run([a.plinth, *common], env, a.out)
            one.append(t)
            other.append(o)
            t, b, o = run([a.mpirun, "-n", "2", a.plinth, *common, "--parallel.pp=2", f"--parallel.pp_schedule={sched}",
                           f"--parallel.pp_chunks={v}"], env, a.out)
            two.append(t)
            blocked.append(b)
            other.append(o)
        t1, t2, bl = statistics.median(one), statistics.median(two), statistics.median(blocked)
        bubble = 1 / (v * m + 1)
        theory = 2 * (1 - bubble)
        print(f"| {m} | {sched}{' x2' if v > 1 else ''} | {t1:.0f} | {t2:.0f} | {t2 / t1:.2f} | {theory:.2f} | "
              f"{t2 / t1 / theory:.2f} | {100 * bl:.1f}% | {100 * bubble:.1f}% | {max(other)}% |", flush=True)


if __name__ == "__main__":
    main()
