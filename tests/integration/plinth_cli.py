"""plinth_cli.py -- helpers for the integration tests: run the plinth binary, read metrics.

The tests run the real binary end to end (prepare -> train -> checkpoint -> resume -> generate)
on a small slice of the fortunes corpus that Debian's `fortunes` package ships.
"""
import json
import os
import shutil
import subprocess
import sys

FORTUNES = "/usr/share/games/fortunes"


def parse_args():
    """--plinth PATH --workdir DIR [--source DIR]; the rest goes to unittest."""
    args = sys.argv[1:]
    opts = {}
    rest = []
    i = 0
    while i < len(args):
        if args[i] in ("--plinth", "--workdir", "--source"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    sys.argv = sys.argv[:1] + rest
    return opts


def run(plinth, *args, cwd=None, check=True, timeout=600):
    """Runs `plinth ARGS`; returns CompletedProcess with text stdout/stderr."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    p = subprocess.run([plinth, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"plinth {' '.join(map(str, args))} exited {p.returncode}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def metrics(path):
    """List of dicts, one per JSONL line."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def losses_by_step(path):
    return {m["step"]: m["loss"] for m in metrics(path)}


def prepare_small_corpus(plinth, out, files=("computers", "science", "linux"), extra=()):
    inputs = []
    for f in files:
        inputs += ["--input", os.path.join(FORTUNES, f)]
    run(plinth, "prepare", *inputs, "--separator", "%", "--val-fraction", "0.1", "--output", out, *extra)
    return out


def rank_pid(root, rank):
    """The pid of the process with OMPI_COMM_WORLD_RANK=rank among root's descendants."""
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env and pid != root:
                return pid
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return None
