"""slurm_harness.py -- helpers for the `slurm` tests: submit to the one-machine cluster that the
ctest fixture brought up (scripts/slurm-local-up.sh), wait for jobs, read their logs and metrics.

Every wait has a deadline; a job that does not reach the expected state fails the test with the
job's Slurm record and the tail of its log, never hangs.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

FORTUNES = "/usr/share/games/fortunes"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
            "BOOT_FAIL", "DEADLINE"}


def parse_args():
    """--plinth PATH --workdir DIR --source DIR; the rest goes to unittest."""
    opts, rest, args, i = {}, [], sys.argv[1:], 0
    while i < len(args):
        if args[i] in ("--plinth", "--workdir", "--source"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    sys.argv = sys.argv[:1] + rest
    return opts


def env():
    e = dict(os.environ)
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    return e


def require_cluster():
    """Fails (never skips) when no Slurm controller answers: the fixture should have started one."""
    try:
        p = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AssertionError(f"Slurm is not usable ({e}); the ctest fixture slurm_cluster_up should have "
                             "started it with scripts/slurm-local-up.sh")
    up = [ln for ln in p.stdout.splitlines() if re.search(r"\b(idle|mixed|allocated)", ln)]
    if p.returncode != 0 or len(up) < 2:
        raise AssertionError(f"Slurm cluster not up (need 2 nodes idle): sinfo exit {p.returncode}\n"
                             f"{p.stdout}{p.stderr}")


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def run(cmd, check=True, timeout=300, env_extra=None, **kw):
    e = env()
    e.update(env_extra or {})
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=e, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


def prepare_corpus(plinth, out):
    run([plinth, "prepare", "--input", os.path.join(FORTUNES, "computers"), "--input",
         os.path.join(FORTUNES, "science"), "--separator", "%", "--val-fraction", "0.1", "--output", out])
    return out


def sbatch(*args, cwd=None):
    """sbatch --parsable ARGS; returns the job id (str)."""
    p = run(["sbatch", "--parsable", *args], cwd=cwd)
    return p.stdout.strip().splitlines()[-1].split(";")[0]


def job_records(job_id):
    """{job id (array tasks as J_i): {field: value}} from `scontrol show job -o` (kept 1 h after the end)."""
    p = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True, timeout=20)
    out = {}
    for line in p.stdout.splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if "JobId" not in fields:
            continue
        key = fields["JobId"]
        if fields.get("ArrayTaskId") and fields.get("ArrayJobId"):
            key = f"{fields['ArrayJobId']}_{fields['ArrayTaskId']}"
        out[key] = fields
    return out


def wait_until(what, predicate, timeout, interval=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_job_end(job_id, timeout, logs=()):
    """Waits until every record of job_id (all array tasks) is terminal; returns the records."""
    def done():
        recs = job_records(job_id)
        if recs and all(r.get("JobState") in TERMINAL for r in recs.values()):
            return recs
        return None
    try:
        return wait_until(f"job {job_id} to end", done, timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{describe(job_id, logs)}")


def describe(job_id, logs=()):
    """The job's records and log tails, for failure messages."""
    text = ""
    for k, r in job_records(job_id).items():
        text += f"job {k}: {r.get('JobState')} reason {r.get('Reason')} exit {r.get('ExitCode')} " \
                f"restarts {r.get('Restarts')} nodes {r.get('NodeList')}\n"
    for path in logs:
        if os.path.exists(path):
            with open(path) as f:
                text += f"---- {path} (tail) ----\n" + "".join(f.readlines()[-60:])
    return text


def metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def losses_by_step(path):
    """step -> loss; a step logged twice (before a save and again after a resume) keeps the last."""
    return {m["step"]: m["loss"] for m in metrics(path) if "loss" in m}


def assert_losses_equal(test, got, ref, rel=1e-5, what=""):
    test.assertEqual(sorted(got), sorted(ref), f"{what}: logged steps differ")
    for step in ref:
        test.assertLessEqual(abs(got[step] - ref[step]), rel * abs(ref[step]),
                             f"{what}: step {step}: {got[step]} vs {ref[step]}")
