"""test_submit_checks.py -- `plinth submit` refuses bad jobs before sbatch: more tasks than the
layout uses, a layout the task count does not fit, a missing config or corpus, a file that is not
a corpus, an indivisible global batch, a signal margin not shorter than the time limit, a sweep
run without config.ini, unknown options. sbatch is a recording stand-in here (PLINTH_SBATCH), so
"never called" is observed, not assumed; a good submission calls it exactly once. The rendered
script carries the checked values. Needs no cluster."""
import os
import stat
import unittest

import slurm_harness as h

OPTS = h.parse_args()
PLINTH, WORK, SRC = OPTS["plinth"], OPTS["workdir"], OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")


class SubmitChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.fresh_dir(WORK)
        cls.corpus = h.prepare_corpus(PLINTH, os.path.join(WORK, "corpus.h5"))
        cls.calls = os.path.join(WORK, "sbatch_calls.txt")
        cls.fake = os.path.join(WORK, "fake_sbatch")
        with open(cls.fake, "w") as f:
            f.write(f"#!/bin/sh\necho \"$@\" >> {cls.calls}\necho 4242\n")
        os.chmod(cls.fake, os.stat(cls.fake).st_mode | stat.S_IEXEC)
        cls.out = os.path.join(WORK, "run")

    def submit(self, *args):
        if os.path.exists(self.calls):
            os.remove(self.calls)
        return h.run([PLINTH, "submit", *args], check=False, env_extra={"PLINTH_SBATCH": self.fake}, cwd=WORK)

    def sbatch_calls(self):
        if not os.path.exists(self.calls):
            return 0
        with open(self.calls) as f:
            return len(f.read().splitlines())

    def refused(self, args, *needles, code=2):
        p = self.submit(*args)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, code, out)
        for needle in needles:
            self.assertIn(needle, out)
        self.assertEqual(self.sbatch_calls(), 0, f"sbatch was called although the check failed:\n{out}")

    def base(self, *extra):
        return ["--config", TINY, f"--data.corpus={self.corpus}", f"--log.out_dir={self.out}", *extra]

    def test_good_submission_calls_sbatch_once_with_the_checked_values(self):
        p = self.submit("--nodes=2", "--ntasks-per-node=2", "--time=00:30:00", "--signal-margin=120",
                        *self.base("--train.global_batch=8", "--train.micro_batch=2"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("submitted batch job 4242", p.stdout)
        self.assertEqual(self.sbatch_calls(), 1)
        with open(os.path.join(self.out, "submit.sbatch")) as f:
            script = f.read()
        for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=2", "#SBATCH --time=00:30:00",
                     "#SBATCH --signal=B:USR1@120", "#SBATCH --requeue", "#SBATCH --open-mode=append",
                     f"#SBATCH --output={self.out}/slurm-%j.out", "export PLINTH_LAUNCHER='srun'",
                     f"'--config' '{TINY}'", "'--train.global_batch=8'"):
            self.assertIn(line, script)
        self.assertEqual(script.count("#SBATCH --nodes="), 1)
        self.assertIn("dp 4", p.stdout + p.stderr)

    def test_dry_run_renders_without_sbatch(self):
        p = self.submit("--dry-run", "--launcher=mpirun", *self.base())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("dry run: not submitted", p.stdout)
        self.assertEqual(self.sbatch_calls(), 0)

    def test_more_tasks_than_the_layout_uses(self):
        self.refused(["--nodes=2", "--ntasks-per-node=2", *self.base("--parallel.dp=2")],
                     "the job asks for 4 tasks", "parallel.tp x parallel.pp x parallel.dp = 1 x 1 x 2 = 2",
                     "extra tasks would sit idle")

    def test_fewer_tasks_than_the_layout_needs(self):
        self.refused(["--ntasks-per-node=2", *self.base("--parallel.tp=2", "--parallel.dp=2")],
                     "the job asks for 2 tasks", "= 4 needs more tasks")

    def test_layout_that_does_not_fit_the_task_count(self):
        self.refused(["--ntasks-per-node=3", *self.base("--parallel.tp=2")],
                     "3 tasks (--nodes x --ntasks-per-node) are not divisible by parallel.tp x parallel.pp = 2 x 1")

    def test_pipeline_deeper_than_the_model(self):
        # tiny.ini has 2 layers: 4 stages cannot each hold one
        self.refused(["--ntasks-per-node=4", *self.base("--parallel.pp=4")], "parallel.pp (4)", "model.n_layer")

    def test_pipeline_with_too_few_micro_batches(self):
        self.refused(["--ntasks-per-node=2", *self.base("--parallel.pp=2", "--train.micro_batch=4",
                                                        "--train.global_batch=4")],
                     "needs at least parallel.pp (2) micro-batches per step, got 1")

    def test_tensor_parallel_shape_checked(self):
        self.refused(["--ntasks-per-node=4", *self.base("--parallel.tp=4")], "model.n_head (2) is not divisible")

    def test_global_batch_not_divisible(self):
        self.refused(["--ntasks-per-node=2", *self.base("--train.micro_batch=3", "--train.global_batch=8")],
                     "train.global_batch (8) is not divisible")

    def test_missing_config(self):
        missing = os.path.join(WORK, "no_such.ini")
        self.refused(["--config", missing, f"--data.corpus={self.corpus}"], f"config file {missing} cannot be opened")

    def test_config_required(self):
        self.refused([f"--data.corpus={self.corpus}"], "--config FILE.ini is required")

    def test_missing_corpus(self):
        missing = os.path.join(WORK, "no_such.h5")
        self.refused(["--config", TINY, f"--data.corpus={missing}"], f"data.corpus: {missing} does not exist")

    def test_file_that_is_not_a_corpus(self):
        self.refused(["--config", TINY, f"--data.corpus={TINY}"], TINY)

    def test_unknown_train_key(self):
        self.refused(self.base("--train.stepz=3"), "train.stepz")

    def test_signal_margin_not_shorter_than_time(self):
        self.refused(["--time=5", "--signal-margin=300", *self.base()],
                     "--signal-margin (300 s) must be shorter than --time (5 = 300 s)")

    def test_malformed_time_and_options(self):
        self.refused(["--time=1:xx", *self.base()], "--time '1:xx' is not a Slurm time")
        self.refused(["--nodes=0", *self.base()], "--nodes must be an integer >= 1")
        self.refused(["--launcher=ssh", *self.base()], "--launcher must be srun or mpirun")
        self.refused(["--bogus=1", *self.base()], "unknown option '--bogus'")

    def test_sbatch_args_replace_template_lines_but_not_checked_ones(self):
        p = self.submit("--dry-run", "--sbatch-arg=--output=elsewhere-%j.out", "--sbatch-arg=--exclusive", *self.base())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(self.out, "submit.sbatch")) as f:
            script = f.read()
        self.assertIn("#SBATCH --output=elsewhere-%j.out", script)
        self.assertEqual(script.count("#SBATCH --output"), 1)
        self.assertIn("#SBATCH --exclusive", script)
        self.refused(["--sbatch-arg=--time=5", *self.base()], "would bypass the checks; use plinth submit's own --time")
        self.refused(["--sbatch-arg=--ntasks=8", *self.base()], "--nodes/--ntasks-per-node")

    def test_sweep_run_without_config(self):
        sweep = os.path.join(WORK, "sweep_bad")
        os.makedirs(os.path.join(sweep, "runs", "r000"), exist_ok=True)
        os.makedirs(os.path.join(sweep, "runs", "r001"), exist_ok=True)
        with open(os.path.join(sweep, "runs", "r000", "config.ini"), "w") as f:
            f.write(f"[data]\ncorpus = {self.corpus}\n")
        self.refused(["--sweep", sweep], "run r001", "config.ini does not exist")
        self.refused(["--sweep", os.path.join(WORK, "no_sweep")], "is not a directory")


if __name__ == "__main__":
    unittest.main(verbosity=2)
