"""test_requeue.py -- save before the time limit, requeue, resume. Two 2-node, 2-rank jobs
submitted with `plinth submit` (launched by srun, and by mpirun inside the allocation) are sent
USR1 the way Slurm sends it before the limit (`scancel --batch --signal=USR1`, which Slurm
delivers at once; --signal=B:USR1@margin delivers the same signal to the same shell MARGIN seconds
before the limit) once some steps are logged. Expected: plinth saves
a checkpoint at the next step boundary and exits 75, the batch script requeues the job, the
requeued job resumes from that checkpoint (--checkpoint.resume=auto), completes, and every step's
loss equals an uninterrupted run of the same configuration."""
import os
import re
import subprocess
import unittest

import slurm_harness as h

OPTS = h.parse_args()
PLINTH, WORK, SRC = OPTS["plinth"], OPTS["workdir"], OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")
STEPS = 300


def train_args(out_dir, corpus):
    return ["--config", TINY, f"--data.corpus={corpus}", f"--log.out_dir={out_dir}", f"--train.steps={STEPS}",
            "--train.micro_batch=4", "--train.global_batch=8", "--log.interval=1", "--eval.interval=0",
            "--eval.windows=4", "--sample.tokens=0", "--train.threads=1", "--parallel.comm_timeout=60"]


class SlurmRequeue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_cluster()
        h.fresh_dir(WORK)
        cls.corpus = h.prepare_corpus(PLINTH, os.path.join(WORK, "corpus.h5"))

    def test_signal_saves_requeues_and_resumes_to_the_same_losses(self):
        # One job per launcher (srun --mpi=pmix, and Open MPI's mpirun inside the allocation), at once.
        jobs = {}
        for launcher in ("srun", "mpirun"):
            job_dir = os.path.join(WORK, f"job_{launcher}")
            p = h.run([PLINTH, "submit", "--nodes=2", "--ntasks-per-node=1", "--time=10", "--signal-margin=60",
                       f"--launcher={launcher}", f"--job-name=plinth-test-requeue-{launcher}",
                       *train_args(job_dir, self.corpus)], cwd=WORK)
            m = re.search(r"submitted batch job (\d+)", p.stdout)
            self.assertIsNotNone(m, p.stdout + p.stderr)
            job = m.group(1)
            jobs[launcher] = (job, job_dir, os.path.join(job_dir, f"slurm-{job}.out"))

        # Signal each once its first run has logged some steps (long before it could finish).
        signalled_after = {}
        for launcher, (job, job_dir, log) in jobs.items():
            metrics = os.path.join(job_dir, "metrics.jsonl")
            try:
                h.wait_until(f"{launcher} job {job} to log 5 steps",
                             lambda: os.path.exists(metrics) and len(h.metrics(metrics)) >= 5, timeout=120,
                             interval=0.1)
            except AssertionError as e:
                raise AssertionError(f"{e}\n{h.describe(job, [log])}")
            subprocess.run(["scancel", "--batch", "--signal=USR1", job], check=True, timeout=20)
            signalled_after[launcher] = len(h.metrics(metrics))

        # The uninterrupted reference, while the jobs save, requeue and resume.
        ref_dir = os.path.join(WORK, "uninterrupted")
        h.run(["mpirun", "-n", "2", PLINTH, "train", *train_args(ref_dir, self.corpus)], timeout=300)
        ref = h.losses_by_step(os.path.join(ref_dir, "metrics.jsonl"))
        self.assertEqual(sorted(ref), list(range(1, STEPS + 1)))

        for launcher, (job, job_dir, log) in jobs.items():
            def requeued_and_done():
                r = h.job_records(job).get(job, {})
                return r if r.get("JobState") in h.TERMINAL and r.get("Restarts") != "0" else None
            try:
                rec = h.wait_until(f"the requeued {launcher} job {job} to finish", requeued_and_done, timeout=240)
            except AssertionError as e:
                raise AssertionError(f"{e}\n{h.describe(job, [log])}")
            self.assertEqual((rec["JobState"], rec["ExitCode"], rec["Restarts"]), ("COMPLETED", "0:0", "1"),
                             h.describe(job, [log]))
            with open(log) as f:
                text = f.read()
            self.assertIn("got SIGUSR1", text)
            self.assertIn("job step exited with status 75", text)
            self.assertIn("requeueing", text)
            second = text[text.index("restart 1,"):]
            m = re.search(r"resumed from \S+ at step (\d+)", second)
            self.assertIsNotNone(m, text)
            resumed_at = int(m.group(1))
            self.assertGreaterEqual(resumed_at, 5)
            self.assertLess(resumed_at, STEPS, f"{launcher}: the first run finished before the signal")
            self.assertLessEqual(resumed_at, signalled_after[launcher] + 50, f"{launcher}: saved long after the signal")
            self.assertTrue(os.path.isdir(os.path.join(job_dir, "checkpoints", f"step_{resumed_at:08d}")))
            got = h.losses_by_step(os.path.join(job_dir, "metrics.jsonl"))
            h.assert_losses_equal(self, got, ref, what=f"{launcher} job {job} (resumed at step {resumed_at})")
            self.assertEqual(len(h.metrics(os.path.join(job_dir, "metrics.jsonl"))), STEPS,
                             f"{launcher}: a step was logged twice")


if __name__ == "__main__":
    unittest.main(verbosity=2)
