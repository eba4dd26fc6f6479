"""test_jobs.py -- a 2-node, 4-rank pretraining job on the one-machine Slurm cluster, once
through `plinth submit` (srun --mpi=pmix) and once through `sbatch slurm/pretrain.sbatch` with
PLINTH_LAUNCHER=mpirun (Open MPI's mpirun inside the allocation): both finish, report 4 ranks
over 2 nodes, and log the same losses as the same run under plain mpirun."""
import os
import re
import subprocess
import unittest

import slurm_harness as h

OPTS = h.parse_args()
PLINTH, WORK, SRC = OPTS["plinth"], OPTS["workdir"], OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")


def train_args(out_dir, corpus):
    return ["--config", TINY, f"--data.corpus={corpus}", f"--log.out_dir={out_dir}", "--train.steps=20",
            "--train.micro_batch=2", "--train.global_batch=8", "--log.interval=1", "--eval.interval=10",
            "--sample.tokens=0", "--train.threads=1", "--parallel.comm_timeout=60"]


class SlurmJobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_cluster()
        h.fresh_dir(WORK)
        cls.corpus = h.prepare_corpus(PLINTH, os.path.join(WORK, "corpus.h5"))

    def test_two_nodes_four_ranks_equal_plain_mpirun(self):
        # Both Slurm jobs are submitted first; the plain mpirun reference runs while they do.
        srun_dir, mpirun_dir = os.path.join(WORK, "srun"), os.path.join(WORK, "mpirun_in_alloc")
        p = h.run([PLINTH, "submit", "--nodes=2", "--ntasks-per-node=2", "--time=5", "--signal-margin=60",
                   "--job-name=plinth-test-srun", *train_args(srun_dir, self.corpus)], cwd=WORK)
        m = re.search(r"submitted batch job (\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        srun_job = m.group(1)
        mpirun_job = h.sbatch("--nodes=2", "--ntasks-per-node=2", "--time=5", "--signal=B:USR1@60",
                              "--job-name=plinth-test-mpirun",
                              f"--output={WORK}/mpirun-%j.out", f"--export=ALL,PLINTH_BIN={PLINTH},PLINTH_LAUNCHER=mpirun",
                              os.path.join(SRC, "slurm", "pretrain.sbatch"), *train_args(mpirun_dir, self.corpus),
                              cwd=SRC)

        ref_dir = os.path.join(WORK, "plain_mpirun")
        h.run(["mpirun", "-n", "4", PLINTH, "train", *train_args(ref_dir, self.corpus)], timeout=240)
        ref = h.losses_by_step(os.path.join(ref_dir, "metrics.jsonl"))
        self.assertEqual(sorted(ref), list(range(1, 21)))

        for job, out_dir, log, launcher in (
                (srun_job, srun_dir, os.path.join(srun_dir, f"slurm-{srun_job}.out"), "srun"),
                (mpirun_job, mpirun_dir, os.path.join(WORK, f"mpirun-{mpirun_job}.out"), "mpirun")):
            recs = h.wait_job_end(job, timeout=240, logs=[log])
            rec = recs[job]
            self.assertEqual((rec["JobState"], rec["ExitCode"]), ("COMPLETED", "0:0"), h.describe(job, [log]))
            self.assertEqual(rec["NumNodes"], "2", h.describe(job, [log]))
            with open(log) as f:
                text = f.read()
            self.assertIn("grid: world 4 = tp 1 x pp 1 x dp 4", text)
            expect = "Slurm srun step" if launcher == "srun" else "Open MPI mpirun"
            self.assertIn(f"launch: {expect} (job {job}), world 4", text)
            got = h.losses_by_step(os.path.join(out_dir, "metrics.jsonl"))
            h.assert_losses_equal(self, got, ref, what=f"{launcher} job {job}")

    def test_batch_shell_without_launcher_is_an_error(self):
        # plinth started directly in the batch script of a 2-task job: one process in a world of
        # one; it must refuse, naming SLURM_NTASKS, rather than train alone.
        out = os.path.join(WORK, "no_launcher")
        os.makedirs(out, exist_ok=True)
        script = os.path.join(out, "direct.sbatch")
        with open(script, "w") as f:
            f.write("#!/bin/bash\n#SBATCH --ntasks=2\n#SBATCH --time=2\n"
                    f"exec {PLINTH} train {' '.join(train_args(out, self.corpus))}\n")
        job = h.sbatch(f"--output={out}/slurm-%j.out", script)
        rec = h.wait_job_end(job, timeout=120)[job]
        with open(os.path.join(out, f"slurm-{job}.out")) as f:
            text = f.read()
        self.assertEqual(rec["ExitCode"], "2:0", text)
        self.assertIn("launch mismatch", text)
        self.assertIn("SLURM_NTASKS=2", text)
        self.assertNotIn("step    1/", text)

    def test_srun_ranks_that_are_worlds_of_one_are_an_error(self):
        # A launch without MPI wire-up, as plinth sees it: srun says 2 tasks, MPI says a world of 1
        # on each. (Open MPI refuses `srun --mpi=none` by itself while it sees the step variables;
        # without SLURM_STEP_ID / SLURM_STEPID, as behind a wrapper that drops them, it starts
        # every task as a singleton.)
        out = os.path.join(WORK, "split_world")
        os.makedirs(out, exist_ok=True)
        script = os.path.join(out, "split.sbatch")
        with open(script, "w") as f:
            f.write("#!/bin/bash\n#SBATCH --ntasks=2\n#SBATCH --time=2\n"
                    "srun --mpi=none env -u SLURM_STEP_ID -u SLURM_STEPID "
                    f"{PLINTH} train {' '.join(train_args(out, self.corpus))}\n")
        job = h.sbatch(f"--output={out}/slurm-%j.out", script)
        rec = h.wait_job_end(job, timeout=120)[job]
        with open(os.path.join(out, f"slurm-{job}.out")) as f:
            text = f.read()
        self.assertEqual(rec["ExitCode"], "2:0", text)
        self.assertIn("launch mismatch", text, text)
        self.assertIn("SLURM_STEP_NUM_TASKS=2", text)
        self.assertIn("the MPI world has size 1", text)
        self.assertNotIn("step    1/", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
