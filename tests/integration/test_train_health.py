"""test_train_health.py -- issue 15, items 1 and 4, through the real binary.

MFU: model FLOP/s over the hardware peak (cores x FLOP/cycle x clock, or log.peak_tflops) stays
in (0, 1] on the default run's model under mpirun -n 2; evaluation and checkpoint time are
reported on their own (eval_s, ckpt_s) and kept out of tokens/s and MFU.
Step guard: a NaN gradient skips the update (counted, training goes on, checkpoints finite); N in
a row stop the run with one line and exit 2; non-finite parameters are never saved; a loss
spike is logged, and skipped with train.spike_action=skip; a NaN on one of two data-parallel
ranks is skipped by both (the losses equal the one-process run's)."""
import math
import os
import subprocess
import unittest

import plinth_cli as cli

OPTS = cli.parse_args()
PLINTH = OPTS["plinth"]
WORK = OPTS["workdir"]
SRC = OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")
DEFAULT = os.path.join(SRC, "configs", "default.ini")
MPIRUN = os.environ.get("PLINTH_MPIRUN", "mpirun")


def mpirun(n, *args, timeout=300):
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    return subprocess.run([MPIRUN, "-n", str(n), PLINTH, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def setUpModule():
    global CORPUS
    cli.fresh_dir(WORK)
    CORPUS = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "small.h5"))


def tiny(run_dir, *extra):
    return ["train", "--config", TINY, f"--data.corpus={CORPUS}", f"--log.out_dir={run_dir}", "--sample.tokens=0",
            "--log.interval=1", "--eval.interval=0", *extra]


def records(run_dir):
    return {r["step"]: r for r in cli.metrics(os.path.join(run_dir, "metrics.jsonl"))}


class Mfu(unittest.TestCase):
    def test_default_run_mfu_within_peak(self):
        # the default run (configs/default.ini, 2 ranks as scripts/run-default.sh), shortened
        d = os.path.join(WORK, "default_np2")
        p = mpirun(2, "train", "--config", DEFAULT, f"--data.corpus={CORPUS}", f"--log.out_dir={d}",
                   "--train.threads=1", "--train.steps=20", "--log.interval=5", "--eval.interval=10",
                   "--eval.windows=16", "--checkpoint.interval=10", "--sample.tokens=0")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = cli.metrics(os.path.join(d, "metrics.jsonl"))
        self.assertEqual([r["step"] for r in m], [5, 10, 15, 20])
        for r in m:
            self.assertGreater(r["mfu"], 0, r)
            self.assertLessEqual(r["mfu"], 1, r)
        # the peak and its derivation, once at start-up
        self.assertIn("MFU reference: CPU peak", p.stdout)
        self.assertIn(" MHz (", p.stdout)
        self.assertIn("FLOP/cycle", p.stdout)

    def test_eval_and_checkpoint_time_reported_apart(self):
        d = os.path.join(WORK, "eval_ckpt")
        p = cli.run(PLINTH, *tiny(d, "--train.steps=12", "--eval.interval=4", "--checkpoint.interval=6"))
        m = records(d)
        self.assertEqual(sorted(m), list(range(1, 13)))
        for r in m.values():   # the tiny model too (before: "MFU 133.5%" at step 1 against a 1-thread SGEMM)
            self.assertGreater(r["mfu"], 0, r)
            self.assertLessEqual(r["mfu"], 1, r)
        for step, r in m.items():
            self.assertIn("eval_s", r)
            self.assertIn("ckpt_s", r)
            if step % 4 == 0 or step == 12:
                self.assertGreater(r["eval_s"], 0, r)
            else:
                self.assertEqual(r["eval_s"], 0, r)
            if step % 6 == 0:
                self.assertGreater(r["ckpt_s"], 0, r)
            else:
                self.assertEqual(r["ckpt_s"], 0, r)
        self.assertIn("| eval ", p.stdout)
        self.assertIn("| ckpt ", p.stdout)
        self.assertIn("outside training time (not in tokens/s or MFU): evaluation", p.stdout)

    def test_stated_peak_and_deprecated_alias(self):
        d = os.path.join(WORK, "stated")
        p = cli.run(PLINTH, *tiny(d, "--train.steps=2", "--log.peak_tflops=50"))
        self.assertIn("stated peak 50 TFLOP/s per rank (log.peak_tflops)", p.stdout)
        p = cli.run(PLINTH, *tiny(d + "_old", "--train.steps=2", "--log.peak_gflops=50000"))
        self.assertIn("stated peak 50 TFLOP/s per rank", p.stdout)
        p = cli.run(PLINTH, *tiny(d + "_both", "--log.peak_gflops=1", "--log.peak_tflops=1"), check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("log.peak_gflops (deprecated) and log.peak_tflops are both set", p.stderr)


class StepGuard(unittest.TestCase):
    def assert_resumable_and_finite(self, ckpt, steps):
        d = os.path.join(WORK, "resume_" + os.path.basename(os.path.dirname(os.path.dirname(ckpt))))
        # a shorter run than the one saved (train.steps changes its cosine schedule): named as allowed
        cli.run(PLINTH, *tiny(d, f"--train.steps={steps}", f"--checkpoint.resume={ckpt}", "--eval.interval=1",
                              "--checkpoint.allow_changes=train.steps"))
        for r in records(d).values():
            self.assertTrue(math.isfinite(r["loss"]) and math.isfinite(r["val_loss"]), r)

    def test_nan_step_is_skipped_and_training_continues(self):
        d = os.path.join(WORK, "nan_once")
        p = cli.run(PLINTH, *tiny(d, "--train.steps=12", "--train.test_nan_steps=4", "--checkpoint.interval=4"))
        m = records(d)
        self.assertEqual(sorted(m), list(range(1, 13)))
        self.assertEqual(m[4]["skipped"], "nonfinite", m[4])
        self.assertIsNone(m[4]["grad_norm"], m[4])   # NaN is written as null
        for step, r in m.items():
            self.assertEqual(r["nonfinite_steps"], 0 if step < 4 else 1, r)
            if step != 4:
                self.assertIsNone(r["skipped"], r)
                self.assertTrue(math.isfinite(r["grad_norm"]), r)
            self.assertTrue(math.isfinite(r["loss"]), r)
        self.assertIn("step 4: non-finite loss or gradient norm", p.stdout)
        self.assertIn("update skipped (1 in a row, 1 in this run", p.stdout)
        self.assertIn("step guard: 1 update(s) skipped", p.stdout)
        self.assertLess(m[12]["loss"], m[1]["loss"])
        ckpts = os.path.join(d, "checkpoints")
        v = cli.run(PLINTH, "ckpt", "verify", ckpts)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assert_resumable_and_finite(os.path.join(ckpts, "step_00000004"), 6)

    def test_consecutive_nan_steps_stop_the_run(self):
        d = os.path.join(WORK, "nan_run")
        p = cli.run(PLINTH, *tiny(d, "--train.steps=12", "--train.test_nan_steps=3-12", "--train.max_nonfinite_steps=3",
                                  "--checkpoint.interval=2"), check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        err = [line for line in p.stderr.splitlines() if line.strip()]
        self.assertEqual(len(err), 1, p.stderr)
        self.assertIn("training diverged: 3 consecutive steps with a non-finite loss or gradient norm (steps 3..5",
                      err[0])
        ckpts = os.path.join(d, "checkpoints")
        saved = sorted(n for n in os.listdir(ckpts) if n.startswith("step_"))
        self.assertEqual(saved, ["step_00000002", "step_00000004"])   # step 4: the skipped steps left it finite
        self.assert_resumable_and_finite(os.path.join(ckpts, "step_00000004"), 6)

    def test_non_finite_parameters_are_never_saved(self):
        d = os.path.join(WORK, "nan_param")
        p = cli.run(PLINTH, *tiny(d, "--train.steps=6", "--train.test_nan_param_at_step=4", "--checkpoint.interval=2"),
                    check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("checkpoint step 4 not saved: the parameters of rank 0 are not finite", p.stderr)
        ckpts = os.path.join(d, "checkpoints")
        self.assertEqual(sorted(n for n in os.listdir(ckpts) if n.startswith("step_")), ["step_00000002"])
        self.assertFalse([n for n in os.listdir(ckpts) if n.startswith(".tmp")], os.listdir(ckpts))

    def test_loss_spike_logged_or_skipped(self):
        spike = ["--train.steps=14", "--train.spike_factor=3", "--train.spike_window=5"]
        base, logged, skipped = (os.path.join(WORK, n) for n in ("spike_base", "spike_log", "spike_skip"))
        cli.run(PLINTH, *tiny(base, *spike))
        pl = cli.run(PLINTH, *tiny(logged, *spike, "--train.test_spike_at_step=10"))
        ps = cli.run(PLINTH, *tiny(skipped, *spike, "--train.test_spike_at_step=10", "--train.spike_action=skip"))
        b, lg, sk = records(base), records(logged), records(skipped)
        self.assertTrue(all(r["spike_steps"] == 0 and r["skipped"] is None for r in b.values()))
        self.assertEqual(lg[10]["skipped"], "loss_spike_logged")
        self.assertEqual(sk[10]["skipped"], "loss_spike")
        self.assertEqual(lg[14]["spike_steps"], 1)
        self.assertEqual(sk[14]["spike_steps"], 1)
        self.assertIn("step 10: loss spike", pl.stdout)
        self.assertIn("update applied (train.spike_action = log)", pl.stdout)
        self.assertIn("update skipped", ps.stdout)
        # logged only: training is the baseline's; skipped: step 11 starts from step 9's weights
        for step in range(11, 15):
            self.assertEqual(lg[step]["loss"], b[step]["loss"], step)
        self.assertNotEqual(sk[11]["loss"], b[11]["loss"])

    def test_nan_on_one_of_two_ranks_is_skipped_by_both(self):
        common = ["--train.steps=8", "--train.test_nan_steps=3", "--train.micro_batch=2", "--train.global_batch=4",
                  "--checkpoint.interval=4", "--parallel.comm_timeout=20"]
        one, two = os.path.join(WORK, "nan_np1"), os.path.join(WORK, "nan_np2")
        cli.run(PLINTH, *tiny(one, *common, "--train.grad_accum=2"))
        p = mpirun(2, *tiny(two, *common))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("grid: world 2 = tp 1 x pp 1 x dp 2", p.stdout)
        ref, got = records(one), records(two)
        self.assertEqual(got[3]["skipped"], "nonfinite", got[3])
        self.assertEqual(sorted(got), sorted(ref))
        for step in ref:   # rank 1 saw a finite norm: had it applied its update, the ranks would drift
            self.assertLessEqual(abs(got[step]["loss"] - ref[step]["loss"]), 1e-5 * abs(ref[step]["loss"]), step)
        v = cli.run(PLINTH, "ckpt", "verify", os.path.join(two, "checkpoints"))
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
