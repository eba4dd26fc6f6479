"""test_sweep.py -- `plinth sweep` end to end on a small synthetic source (about a minute):
plan -> run (under mpirun, one job at a time) -> fit -> report, and the coordinator's state
handling: a finished run is skipped, an interrupted sweep resumes its run from a checkpoint, a
failed run is reported and retried on request, results are re-collected from metrics; bad
input exits 2 naming the key or directory.
"""
import csv
import os
import signal
import subprocess
import sys
import time
import unittest

import plinth_cli as pc

OPTS = pc.parse_args()
PLINTH, WORK = OPTS["plinth"], OPTS["workdir"]
MPIRUN = os.environ.get("PLINTH_MPIRUN", "mpirun")

SWEEP_INI = """
[sweep]
name = ci
budgets = 3e10,1e11,3e11
sizes_per_budget = 3
size_span = 4
tokens_per_param = 10
checkpoints_per_run = 4
[shapes]
head_size = 16
aspect = 64
min_width = 16
max_width = 96
width_step = 16
[train]
data.corpus = {corpus}
model.seq_len = 32
train.micro_batch = 8
train.threads = 1
optim.lr = 3e-3
eval.windows = 64
log.peak_gflops = 1
[fit]
bootstrap = 40
"""


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def sweep(*args, check=True):
    return pc.run(PLINTH, "sweep", *args, check=check, timeout=600)


class SweepEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        pc.fresh_dir(WORK)
        cls.corpus = os.path.join(WORK, "markov.h5")
        p = pc.run(PLINTH, "prepare", "--synthetic", "--output", cls.corpus, "--symbols", "32", "--order", "1",
                   "--concentration", "0.3", "--train-tokens", "600000", "--val-tokens", "40000")
        cls.entropy = float(p.stderr.split("H = ")[1].split()[0]) if "H = " in p.stderr else \
            float(p.stdout.split("H = ")[1].split()[0])
        cls.ini = os.path.join(WORK, "ci.ini")
        with open(cls.ini, "w") as f:
            f.write(SWEEP_INI.format(corpus=cls.corpus))
        cls.dir = os.path.join(WORK, "sweep")
        os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                          OMPI_MCA_rmaps_base_oversubscribe="1")

    def run_args(self):
        return ("run", self.dir, "--mpirun", MPIRUN, "--ranks", "1")

    def test_sweep_lifecycle(self):
        # ---- plan: the run table exists before anything runs
        sweep("plan", self.ini, "--out", self.dir)
        plan = read_csv(os.path.join(self.dir, "plan.csv"))
        self.assertEqual(len(plan), 9)
        self.assertEqual([r["id"] for r in plan], [f"r{i:03d}" for i in range(9)])
        for r in plan:
            self.assertTrue(os.path.exists(os.path.join(self.dir, "runs", r["id"], "config.ini")))
            self.assertEqual(r["flops_formula"], "causal")
            self.assertAlmostEqual(float(r["compute_6nd"]), 6 * int(r["params"]) * int(r["tokens"]), delta=1)
            # causal = the trainer's count (matrix products); within a few % of 6N at these sizes
            self.assertAlmostEqual(float(r["compute_over_6nd"]), 1.0, delta=0.05)
            self.assertLess(int(r["params_non_embedding"]), int(r["params"]))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "results.csv")))
        # planning again into the same directory is idempotent
        sweep("plan", self.ini, "--out", self.dir)
        # the Slurm hook: `sweep run --slurm` hands the sweep to `plinth submit --sweep DIR`
        # (a dry run renders the array script: task i = plan row i)
        sweep("run", self.dir, "--slurm", "--submit-arg=--dry-run")
        script = open(os.path.join(self.dir, "submit_array.sbatch")).read()
        self.assertRegex(script, r"#SBATCH --array=0-8\b")

        # ---- a broken run fails, the others finish; the failure is reported
        bad_cfg = os.path.join(self.dir, "runs", "r001", "config.ini")
        good = open(bad_cfg).read()
        with open(bad_cfg, "w") as f:
            f.write(good + "\n[optim]\nbogus_key = 1\n")
        p = sweep(*self.run_args(), "--only", "r000", "--only", "r001", check=False)
        self.assertNotEqual(p.returncode, 0)
        res = {r["id"]: r for r in read_csv(os.path.join(self.dir, "results.csv"))}
        self.assertEqual(res["r000"]["status"], "done")
        self.assertEqual(res["r001"]["status"], "failed")
        self.assertIn("exit code", res["r001"]["message"])
        self.assertEqual(res["r002"]["status"], "pending")
        self.assertIn("FAILED", p.stderr + p.stdout)
        # without --retry-failed the failure stays; with it (config fixed) it runs
        with open(bad_cfg, "w") as f:
            f.write(good)
        sweep(*self.run_args(), "--only", "r001", check=False)
        res = {r["id"]: r for r in read_csv(os.path.join(self.dir, "results.csv"))}
        self.assertEqual(res["r001"]["status"], "failed")
        sweep(*self.run_args(), "--only", "r001", "--retry-failed")
        res = {r["id"]: r for r in read_csv(os.path.join(self.dir, "results.csv"))}
        self.assertEqual(res["r001"]["status"], "done")
        self.assertEqual(res["r001"]["attempts"], "2")

        # ---- interrupt the sweep during the longest run; the next `sweep run` resumes it
        target = max(plan, key=lambda r: int(r["steps"]))
        tid = target["id"]
        metrics = os.path.join(self.dir, "runs", tid, "metrics.jsonl")
        ckpt_every = max(1, int(target["steps"]) // 4)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.Popen([PLINTH, "sweep", *self.run_args(), "--only", tid], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            ck = os.path.join(self.dir, "runs", tid, "checkpoints")
            if os.path.isdir(ck) and any(not d.startswith(".") and "tmp" not in d for d in os.listdir(ck)):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        res = {r["id"]: r for r in read_csv(os.path.join(self.dir, "results.csv"))}
        if res[tid]["status"] == "interrupted":   # (a very fast machine may finish first)
            done_steps = int(res[tid]["steps"]) if res[tid]["steps"] else 0
            self.assertLess(done_steps, int(target["steps"]))
            self.assertGreater(done_steps, 0)
            # plinth train (under mpirun, which passes the signal on) saved a checkpoint and stopped
            log = open(os.path.join(self.dir, "runs", tid, "train.log")).read()
            self.assertRegex(log, r"stopped by SIGTERM after step \d+; checkpoint")
            sweep(*self.run_args(), "--only", tid)
            log = open(os.path.join(self.dir, "runs", tid, "train.log")).read()
            self.assertRegex(log, r"resumed from \S+step_\d+ at step [1-9]\d*")
            res = {r["id"]: r for r in read_csv(os.path.join(self.dir, "results.csv"))}
            self.assertEqual(res[tid]["status"], "done")
            self.assertEqual(res[tid]["attempts"], "2")
        else:
            self.assertEqual(res[tid]["status"], "done", out)

        # ---- the rest; finished runs are not run again
        before = {r["id"]: r["attempts"] for r in read_csv(os.path.join(self.dir, "results.csv"))}
        sweep(*self.run_args())
        res = read_csv(os.path.join(self.dir, "results.csv"))
        for r in res:
            self.assertEqual(r["status"], "done", r)
            if before[r["id"]] not in ("", "0"):
                self.assertEqual(r["attempts"], before[r["id"]], r["id"])
            loss, se = float(r["eval_loss"]), float(r["eval_loss_se"])
            self.assertGreater(se, 0)
            # the source-entropy bound: no run may beat H by more than 4 SE
            self.assertGreaterEqual(loss, self.entropy - 4 * se, r)
            self.assertEqual(r["entropy_check"], "ok")
            self.assertEqual(int(r["tokens"]), int(next(p for p in plan if p["id"] == r["id"])["tokens"]))
        # results are re-collected from the metrics alone (what a Slurm array leaves behind)
        os.remove(os.path.join(self.dir, "results.csv"))
        sweep("collect", self.dir)
        self.assertTrue(all(r["status"] == "done" for r in read_csv(os.path.join(self.dir, "results.csv"))))

        # ---- fit and report
        p = sweep("fit", self.dir)
        self.assertIn("Approach 3", p.stdout)
        self.assertIn("Approach 2", p.stdout)
        fit = {r["quantity"]: r for r in read_csv(os.path.join(self.dir, "fit.csv"))}
        for q in ("E", "A", "B", "alpha", "beta", "a", "b", "N_opt@3e+11", "D_opt@3e+11"):
            self.assertIn(q, fit)
        self.assertEqual(int(fit["alpha"]["bootstrap_n"]), 40)
        self.assertAlmostEqual(float(fit["a"]["estimate"]) + float(fit["b"]["estimate"]), 1.0, places=9)
        self.assertAlmostEqual(float(fit["entropy_rate_H"]["estimate"]), self.entropy, places=4)
        sweep("report", self.dir, "--conditions", "ctest")
        rep = os.path.join(self.dir, "report")
        for png in ("isoflop.png", "frontier.png", "allocation.png", "residuals.png"):
            with open(os.path.join(rep, png), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", png)
        md = open(os.path.join(rep, "report.md")).read()
        self.assertIn("6ND", md)
        self.assertIn("causal", md)
        self.assertIn("source entropy", md)
        self.assertEqual(len(read_csv(os.path.join(rep, "table.csv"))), 9)

    def test_bad_input(self):
        bad = os.path.join(WORK, "bad.ini")
        with open(bad, "w") as f:
            f.write(SWEEP_INI.format(corpus=self.corpus) + "\n[extra]\nfoo = 1\n")
        p = sweep("plan", bad, "--out", os.path.join(WORK, "bad"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("extra.foo", p.stderr)
        with open(bad, "w") as f:
            f.write(SWEEP_INI.format(corpus=self.corpus).replace("optim.lr = 3e-3", "optim.lrr = 3e-3"))
        p = sweep("plan", bad, "--out", os.path.join(WORK, "bad2"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("lrr", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(WORK, "bad2", "plan.csv")))
        p = sweep("run", os.path.join(WORK, "nowhere"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("plan.csv", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
