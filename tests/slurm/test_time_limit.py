"""test_time_limit.py -- the real time-limit path, nobody sending a signal by hand: a 2-node,
2-rank job submitted with `plinth submit --time=1 --signal-margin=45` (so `#SBATCH
--signal=B:USR1@45`) trains a run far longer than its 60 s limit. Slurm itself sends USR1 about
45 s before the limit; plinth saves and exits 75, the job requeues itself and the next run resumes
from that checkpoint and trains on past it. Then the test cancels the job (`scancel`: SIGTERM): it
saves again but must not requeue itself, so the job ends as CANCELLED. Losses after a requeue
are compared with an uninterrupted run in test_requeue.py; here the point is that the #SBATCH
line, Slurm's timer and the batch script's trap work together before a TIMEOUT can happen."""
import os
import re
import subprocess
import unittest

import slurm_harness as h

OPTS = h.parse_args()
PLINTH, WORK, SRC = OPTS["plinth"], OPTS["workdir"], OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")


class SlurmTimeLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_cluster()
        h.fresh_dir(WORK)
        cls.corpus = h.prepare_corpus(PLINTH, os.path.join(WORK, "corpus.h5"))

    def test_time_limit_signal_saves_and_requeues(self):
        job_dir = os.path.join(WORK, "job")
        p = h.run([PLINTH, "submit", "--nodes=2", "--ntasks-per-node=1", "--time=1", "--signal-margin=45",
                   "--job-name=plinth-test-time-limit", "--config", TINY, f"--data.corpus={self.corpus}",
                   f"--log.out_dir={job_dir}", "--train.steps=1000000", "--log.interval=10", "--eval.interval=0",
                   "--sample.tokens=0", "--train.threads=1", "--parallel.comm_timeout=60"], cwd=WORK)
        m = re.search(r"submitted batch job (\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        job = m.group(1)
        log = os.path.join(job_dir, f"slurm-{job}.out")
        with open(os.path.join(job_dir, "submit.sbatch")) as f:
            self.assertIn("#SBATCH --signal=B:USR1@45", f.read())

        def resumed_and_training():
            if not os.path.exists(log):
                return None
            with open(log) as f:
                text = f.read()
            if "restart 1," not in text:
                return None
            second = text[text.index("restart 1,"):]
            m = re.search(r"resumed from \S+ at step (\d+)", second)
            if m and re.search(r"step +(\d+)/", second[m.end():]):
                return text, int(m.group(1))
            return None
        try:
            text, resumed_at = h.wait_until("Slurm's time-limit signal, a save, the requeue and the resumed run",
                                            resumed_and_training, timeout=150, interval=0.5)
        finally:
            subprocess.run(["scancel", job], timeout=20)
        # A cancel is final: the batch script forwards the TERM (plinth saves) but does not requeue.
        rec = h.wait_job_end(job, timeout=60, logs=[log])[job]
        self.assertEqual(rec["JobState"], "CANCELLED", h.describe(job, [log]))
        with open(log) as f:
            after = f.read()[len(text):]
        if "got SIGTERM" in after:
            self.assertIn("not requeueing", after)
        first = text[:text.index("restart 1,")]
        self.assertIn("got SIGUSR1", first)
        self.assertIn("stopped by SIGUSR1", first)
        self.assertIn("job step exited with status 75", first)
        self.assertIn("requeueing", first)
        self.assertNotIn("TIME LIMIT", first)
        saved = re.search(r"saved checkpoint \S+ \(step (\d+)\)", first)
        self.assertIsNotNone(saved, first)
        self.assertEqual(int(saved.group(1)), resumed_at)
        self.assertGreater(resumed_at, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
