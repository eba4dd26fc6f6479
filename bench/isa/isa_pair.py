"""isa_pair.py -- paired training-step throughput of two plinth builds (e.g. the portable default
against a -DPLINTH_NATIVE=ON build), alternating binaries round by round on one quiet machine, and
the portable build with its kernels pinned to the plain x86-64 variant (PLINTH_CPU_ISA=baseline).

  /usr/bin/python3 bench/isa/isa_pair.py --old OLD/bench_train_step --new build/bench/bench_train_step --rounds 5

Prints a Markdown table of median tokens/s per configuration and the ratio new / old."""
import argparse
import json
import os
import statistics
import subprocess

COMMON = ["--heads", "4", "--seq", "128", "--seed", "1", "--sgemm-seconds", "0.01", "--threads", "1"]
CONFIGS = {
    "S": ["--arch", "gpt2", "--vocab", "256", "--layers", "4", "--embd", "128", "--batch", "16", "--steps", "20",
          "--warmup", "3"],
    "L": ["--arch", "llama", "--vocab", "256", "--layers", "4", "--embd", "128", "--batch", "16", "--steps", "20",
          "--warmup", "3"],
    "V": ["--arch", "gpt2", "--vocab", "50257", "--layers", "2", "--embd", "128", "--batch", "8", "--steps", "5",
          "--warmup", "1"],
}


def tokens_per_s(exe, args, extra_env):
    env = dict(os.environ, **extra_env)
    out = subprocess.run([exe, *args, *COMMON], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["tokens_per_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="bench_train_step of the reference build")
    ap.add_argument("--new", required=True, help="bench_train_step of the portable build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-baseline", action="store_true", help="skip the PLINTH_CPU_ISA=baseline runs")
    o = ap.parse_args()
    sides = [("old", o.old, {}), ("new", o.new, {})]
    if not o.no_baseline:
        sides.append(("new, baseline", o.new, {"PLINTH_CPU_ISA": "baseline"}))
    runs = {}
    for _ in range(o.rounds):
        for name, args in CONFIGS.items():
            for label, exe, env in sides:
                runs.setdefault((name, label), []).append(tokens_per_s(exe, args, env))
    print("| config | " + " | ".join(label for label, _, _ in sides) + " | new / old |")
    print("|---" * (len(sides) + 2) + "|")
    for name in CONFIGS:
        med = {label: statistics.median(runs[(name, label)]) for label, _, _ in sides}
        print(f"| {name} | " + " | ".join(f"{med[label]:.0f}" for label, _, _ in sides) +
              f" | {med['new'] / med['old']:.2f} |")


if __name__ == "__main__":
    main()
