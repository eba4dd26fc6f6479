#!/usr/bin/python3
"""ckpt_bench.py -- checkpoint save and load throughput against the disk's raw write bandwidth,
and the training time blocked per save with asynchronous save off and on.

Model: GPT-2, 8 layers, n_embd 384 (14.3 M parameters; parameters + two AdamW moments = 171 MB
of float32 state). All figures come from the real `plinth train` binary's own log lines (and its
metrics.jsonl, see blocked time below):
  "saved checkpoint DIR (step N) in X s; training blocked Y s"   (save: prepare, every shard
      written, fsynced and checksummed by its writer, index written, rename, latest)
  "resumed from DIR ... loaded in Z s (slowest rank)"             (load: every rank reads the
      slices of its own layout, checksums verified)
In the same run, before and after, the raw sequential write bandwidth of the same file system:
  dd if=/dev/zero of=DIR/dd.bin bs=1M count=<state MB> conv=fdatasync
Save GB/s = bytes of the checkpoint directory / save time; ratio = that / dd GB/s.
Load GB/s = bytes of the checkpoint directory / load time. Before each load the page cache is
dropped (echo 3 > /proc/sys/vm/drop_caches) when that is allowed (root); the table says whether
the load was cold or warm.

Layouts: 1 rank; 4 ranks at tp 4 (each rank writes and reads a quarter); 4 ranks at dp 4 with
ZeRO-1 (dp rank 0 writes the parameters, every rank its quarter of the moments; every rank
reads the whole parameters back).

Blocked time: 8 steps with a save every 2 steps (4 saves), checkpoint.async 0 and 1, 1 rank, and
the whole run's wall time against the same run saving only at the end. Besides the blocked time the
trainer logs (what the save itself holds the training thread for), the training time lost per save
counts everything a save costs the training loop, data stalls included: every step's time from
metrics.jsonl (log.interval 1: elapsed_s at each step, after its data fetch, forward, backward and
update, before that step's save), against the same step of the run saving only at the end (per-step
medians over the repeats); the steps after each save (3..8) are charged to the 3 saves during training.
Asynchronous saves are measured twice: on the corpus as prepared (token windows read with pread,
no HDF5 lock) and on a copy whose token datasets are repacked with a shuffle filter
(h5repack -f /train/tokens,/val/tokens:SHUF), which the corpus reader cannot pread, so its windows
go through HDF5 and wait for the lock the writer thread holds (the reader before issue 14; skipped
when h5repack is missing).

usage: ckpt_bench.py --plinth build/launch/plinth --corpus data/fortunes.h5 [--dir /tmp/plinth_ckpt_bench]
           [--sections throughput,blocked]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import time

MODEL = ["--model.arch=gpt2", "--model.n_layer=8", "--model.n_embd=384", "--model.n_head=8", "--model.seq_len=64"]


def du_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def dd_gbps(directory, mb):
    target = os.path.join(directory, "dd.bin")
    p = subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mb}", "conv=fdatasync"],
                       capture_output=True, text=True)
    os.remove(target)
    m = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", p.stderr)
    if p.returncode != 0 or not m:
        raise SystemExit(f"dd failed: {p.stderr}")
    return int(m.group(1)) / float(m.group(2)) / 1e9


def drop_caches():
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "cold"
    except OSError:
        return "warm (page cache could not be dropped)"


def train(a, ranks, extra, env, corpus=None, log_interval=1000):
    cmd = [a.plinth, "train", *MODEL, f"--data.corpus={corpus or a.corpus}", "--train.threads=1",
           "--train.micro_batch=2", "--train.global_batch=8", "--eval.interval=0", "--eval.windows=4",
           "--sample.tokens=0", f"--log.interval={log_interval}", f"--log.out_dir={a.dir}/run", *extra]
    if ranks > 1:
        cmd = [a.mpirun, "-n", str(ranks), *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out}")
    return out


def saves(out):
    return [(float(t), float(b)) for t, b in re.findall(r"saved checkpoint \S+ \(step \d+\) in ([\d.]+)s; "
                                                         r"training blocked ([\d.]+)s", out)]


def step_times(a):
    """Per-step wall time of the last run, from its metrics.jsonl (log.interval 1): {step: s}."""
    with open(os.path.join(a.dir, "run", "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    out, prev = {}, 0.0
    for r in rows:
        out[r["step"]] = r["elapsed_s"] - prev
        prev = r["elapsed_s"]
    return out


def repacked_corpus(a):
    """A copy of the corpus with a shuffle filter (read through HDF5, under its lock), or None."""
    if not shutil.which("h5repack"):
        return None
    out = os.path.join(a.dir, "corpus_shuffled.h5")
    subprocess.run(["h5repack", "-f", "/train/tokens,/val/tokens:SHUF", a.corpus, out], check=True,
                   capture_output=True)
    return out


def throughput(a, env):
    """Save and load GB/s per layout against dd; returns the checkpoint size in MB."""
    layouts = [("1 rank", 1, []), ("4 ranks, tp 4", 4, ["--parallel.tp=4"]),
               ("4 ranks, dp 4 + ZeRO-1", 4, ["--parallel.zero=1"])]
    dd = [dd_gbps(a.dir, 171)]
    print("\n| layout | checkpoint MB | save s | save GB/s | save / dd | load s | load GB/s | load |")
    print("|---|---|---|---|---|---|---|---|")
    state_mb = 0
    for name, ranks, extra in layouts:
        save_s, load_s, sizes, cache = [], [], [], ""
        for _ in range(a.repeat):
            ck = os.path.join(a.dir, "ck")
            shutil.rmtree(ck, ignore_errors=True)
            out = train(a, ranks, [*extra, "--train.steps=1", f"--checkpoint.dir={ck}", "--checkpoint.interval=0"], env)
            save_s.append(saves(out)[-1][0])
            step = os.path.join(ck, "step_00000001")
            sizes.append(du_bytes(step))
            cache = drop_caches()
            out = train(a, ranks, [*extra, "--train.steps=1", f"--checkpoint.dir={ck}", f"--checkpoint.resume={step}"],
                        env)
            load_s.append(float(re.search(r"loaded in ([\d.]+)s", out).group(1)))
        size = statistics.median(sizes)
        state_mb = size / 1e6
        s, ld = statistics.median(save_s), statistics.median(load_s)
        dd.append(dd_gbps(a.dir, 171))
        ref = statistics.median(dd)
        print(f"| {name} | {size / 1e6:.0f} | {s:.3f} | {size / s / 1e9:.3f} | {size / s / 1e9 / ref:.2f} | "
              f"{ld:.3f} | {size / max(ld, 1e-3) / 1e9:.3f} | {cache} |", flush=True)
    print(f"\ndd with fdatasync, {len(dd)} measurements through the run: "
          + ", ".join(f"{x:.3f}" for x in dd) + f" GB/s (median {statistics.median(dd):.3f})")
    return state_mb


def blocked(a, env, state_mb):
    """Training time blocked and lost per save, async off and on, both corpus readers."""
    size = f"{state_mb:.0f} MB each" if state_mb else "171 MB of state each"
    print(f"\nBlocked per save, 1 rank, 8 steps, a save every 2 steps ({size}; the last save, at the end of "
          "the run, always waits for its writer, so it is shown apart). Lost per save: the step times of "
          "steps 3..8 minus those of the run saving only at the end, over the 3 saves during training "
          "(the save's blocked time plus data stalls and the writer thread's share of the cores). Run wall s: "
          "the whole process:\n")
    print("| checkpoint.async | corpus reads | saves | save s (median) | blocked s per save during training "
          "(median) | lost s per save (step times) | final save blocked s | run wall s |")
    print("|---|---|---|---|---|---|---|---|")
    shuffled = repacked_corpus(a)
    modes = [("end only", 0, None), (0, 0, None), (1, 1, None)]
    if shuffled:
        modes.append((1, 1, shuffled))
    base = None
    for mode, use_async, corpus in modes:
        ck = os.path.join(a.dir, "ck_async")
        walls, rows, steps = [], [], []
        for _ in range(a.repeat):
            shutil.rmtree(ck, ignore_errors=True)
            shutil.rmtree(os.path.join(a.dir, "run"), ignore_errors=True)   # metrics.jsonl is appended to
            interval = 0 if mode == "end only" else 2
            t = time.time()
            out = train(a, 1, ["--train.steps=8", f"--checkpoint.dir={ck}", f"--checkpoint.interval={interval}",
                               f"--checkpoint.async={use_async}", "--checkpoint.keep=2"], env, corpus=corpus,
                        log_interval=1)
            walls.append(time.time() - t)
            rows.append(saves(out))
            steps.append(step_times(a))
        step = {k: statistics.median(s[k] for s in steps) for k in range(3, 9)}
        wall = statistics.median(walls)
        reads = "hdf5 (shuffle-filtered copy)" if corpus else "direct (pread)"
        final = statistics.median(r[-1][1] for r in rows)
        if mode == "end only":
            base = step
            print(f"| (no save during training) | {reads} | 1 | - | - | - | {final:.3f} | {wall:.2f} |", flush=True)
            continue
        during = [sv for r in rows for sv in r[:-1]]
        tot = statistics.median(t for t, _ in during)
        blk = statistics.median(b for _, b in during)
        lost = sum(step[k] - base[k] for k in step) / 3
        print(f"| {mode} | {reads} | {len(rows[0])} | {tot:.3f} | {blk:.3f} | {lost:.3f} | {final:.3f} | "
              f"{wall:.2f} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plinth", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--dir", default="/tmp/plinth_ckpt_bench")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sections", default="throughput,blocked", help="comma-separated: throughput, blocked")
    a = ap.parse_args()
    sections = set(a.sections.split(","))
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    fs = subprocess.run(["df", "-T", a.dir], capture_output=True, text=True).stdout.splitlines()[-1].split()
    print(f"file system of {a.dir}: {fs[0]} ({fs[1]})")
    state_mb = throughput(a, env) if "throughput" in sections else 0
    if "blocked" in sections:
        blocked(a, env, state_mb)
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
