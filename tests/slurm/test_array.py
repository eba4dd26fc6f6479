"""test_array.py -- a sweep as a Slurm job array: three run configurations (different
model widths) in DIR/runs/r000..r002/config.ini, submitted with `plinth submit --sweep DIR`
(slurm/sweep_array.sbatch, --array=0-2). Each array task trains its own run (task i = run i in
sorted order) and logs the same losses as that configuration trained directly."""
import os
import re
import unittest

import slurm_harness as h

OPTS = h.parse_args()
PLINTH, WORK, SRC = OPTS["plinth"], OPTS["workdir"], OPTS["source"]
WIDTHS = {"r000": 16, "r001": 32, "r002": 48}


def write_config(path, n_embd, corpus, out_dir):
    with open(path, "w") as f:
        f.write(f"""# sweep run written by tests/slurm/test_array.py
[model]
arch = gpt2
n_layer = 2
n_embd = {n_embd}
n_head = 2
seq_len = 32

[data]
corpus = {corpus}

[train]
micro_batch = 4
steps = 15
threads = 1

[optim]
lr = 3e-3
warmup_steps = 2

[eval]
interval = 0
windows = 8

[log]
interval = 1
out_dir = {out_dir}

[sample]
tokens = 0
""")


class SlurmArray(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_cluster()
        h.fresh_dir(WORK)
        cls.corpus = h.prepare_corpus(PLINTH, os.path.join(WORK, "corpus.h5"))

    def test_three_task_array_runs_three_configurations(self):
        sweep = os.path.join(WORK, "sweep")
        for rid, width in WIDTHS.items():
            os.makedirs(os.path.join(sweep, "runs", rid))
            write_config(os.path.join(sweep, "runs", rid, "config.ini"), width, self.corpus,
                         os.path.join(sweep, "runs", rid, "out"))
        p = h.run([PLINTH, "submit", "--sweep", sweep, "--time=5", "--signal-margin=60",
                   "--job-name=plinth-test-array"], cwd=WORK)
        m = re.search(r"submitted batch job (\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        job = m.group(1)
        with open(os.path.join(sweep, "submit_array.sbatch")) as f:
            self.assertIn("#SBATCH --array=0-2", f.read())

        # The reference: each configuration trained directly, while the array runs.
        refs = {}
        for rid in WIDTHS:
            ref_out = os.path.join(WORK, "direct", rid)
            h.run([PLINTH, "train", "--config", os.path.join(sweep, "runs", rid, "config.ini"),
                   f"--log.out_dir={ref_out}"])
            refs[rid] = h.losses_by_step(os.path.join(ref_out, "metrics.jsonl"))

        logs = [os.path.join(sweep, f"slurm-{job}_{i}.out") for i in range(3)]
        recs = h.wait_job_end(job, timeout=300, logs=logs)
        self.assertEqual(sorted(recs), [f"{job}_{i}" for i in range(3)], h.describe(job, logs))
        for i, rid in enumerate(sorted(WIDTHS)):
            rec = recs[f"{job}_{i}"]
            self.assertEqual((rec["JobState"], rec["ExitCode"]), ("COMPLETED", "0:0"), h.describe(job, logs))
            with open(logs[i]) as f:
                text = f.read()
            self.assertIn(f"task {i} of 3: run {rid}", text)
            self.assertIn(f"n_embd={WIDTHS[rid]} ", text)
            got = h.losses_by_step(os.path.join(sweep, "runs", rid, "out", "metrics.jsonl"))
            h.assert_losses_equal(self, got, refs[rid], what=f"array task {i} ({rid})")
        # three different models: three different loss curves
        finals = {refs[rid][15] for rid in WIDTHS}
        self.assertEqual(len(finals), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
