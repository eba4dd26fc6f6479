"""test_mpi_cli.py -- plinth train under mpirun: multi-rank losses equal the single-process
run; bad parallel input fails on every rank before training, with a message naming the key,
file or rank, and without hanging; a rank killed mid-training ends the whole job quickly; the end-of-run sample is skipped (never
gathered) when the model is split over tp ranks, printed at tp 1."""
import os
import signal
import subprocess
import time
import unittest

import plinth_cli as cli

OPTS = cli.parse_args()
PLINTH = OPTS["plinth"]
WORK = OPTS["workdir"]
SRC = OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")
MPIRUN = os.environ.get("PLINTH_MPIRUN", "mpirun")


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    return env


def mpirun(n, *args, timeout=120):
    t0 = time.time()
    p = subprocess.run([MPIRUN, "-n", str(n), PLINTH, *map(str, args)], capture_output=True, text=True,
                       env=mpi_env(), timeout=timeout)
    return p, time.time() - t0


def setUpModule():
    global BYTE, BPE
    cli.fresh_dir(WORK)
    BYTE = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "byte.h5"))
    BPE = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "bpe.h5"),
                                   extra=("--tokenizer", "sentencepiece", "--vocab-size", "500"))


def common(run_dir, *extra):
    return ["train", "--config", TINY, f"--data.corpus={BYTE}", f"--log.out_dir={run_dir}", "--sample.tokens=0",
            "--log.interval=1", "--eval.interval=0", "--parallel.comm_timeout=10", *extra]


class MpiTrain(unittest.TestCase):
    def test_two_and_four_ranks_match_one_process(self):
        one = os.path.join(WORK, "one")
        cli.run(PLINTH, *common(one, "--train.micro_batch=4", "--train.global_batch=8"))
        ref = cli.losses_by_step(os.path.join(one, "metrics.jsonl"))
        for n, zero in ((2, 0), (2, 1), (4, 1)):
            d = os.path.join(WORK, f"np{n}_zero{zero}")
            p, _ = mpirun(n, *common(d, f"--train.micro_batch={8 // n}", "--train.global_batch=8",
                                     f"--parallel.zero={zero}"))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            got = cli.losses_by_step(os.path.join(d, "metrics.jsonl"))
            self.assertEqual(sorted(got), sorted(ref))
            for step in ref:
                self.assertLessEqual(abs(got[step] - ref[step]), 1e-5 * abs(ref[step]), f"np{n} zero{zero} step {step}")
            self.assertIn(f"grid: world {n} = tp 1 x pp 1 x dp {n}", p.stdout)

    def test_checkpoint_resumes_on_another_data_parallel_layout(self):
        full = os.path.join(WORK, "resume_full")
        cli.run(PLINTH, *common(full, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=16"))
        ref = cli.losses_by_step(os.path.join(full, "metrics.jsonl"))
        saved = os.path.join(WORK, "resume_saved")
        p, _ = mpirun(2, *common(saved, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=16",
                                 "--checkpoint.interval=8", "--parallel.zero=1"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        step8 = os.path.join(saved, "checkpoints", "step_00000008")
        for n, zero in ((1, 0), (4, 0), (4, 1)):
            d = os.path.join(WORK, f"resumed_np{n}_zero{zero}")
            p, _ = mpirun(n, *common(d, f"--train.micro_batch={8 // n}", "--train.global_batch=8", "--train.steps=16",
                                     f"--parallel.zero={zero}", f"--checkpoint.resume={step8}"))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            got = cli.losses_by_step(os.path.join(d, "metrics.jsonl"))
            self.assertEqual(sorted(got), list(range(9, 17)))
            for step in got:
                self.assertLessEqual(abs(got[step] - ref[step]), 1e-5 * abs(ref[step]), f"np{n} zero{zero} step {step}")

    def test_tensor_parallel_runs_and_resumes_across_tp(self):
        one = os.path.join(WORK, "tp_ref")
        cli.run(PLINTH, *common(one, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=8"))
        ref = cli.losses_by_step(os.path.join(one, "metrics.jsonl"))
        d = os.path.join(WORK, "tp2_sp")
        p, _ = mpirun(2, *common(d, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=8",
                                 "--parallel.tp=2", "--parallel.sequence_parallel=1", "--checkpoint.interval=4"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("tensor parallel: tp 2", p.stdout)
        got = cli.losses_by_step(os.path.join(d, "metrics.jsonl"))
        for step in ref:
            self.assertLessEqual(abs(got[step] - ref[step]), 1e-5 * abs(ref[step]), f"tp2 step {step}")
        # saved at tp = 2 with sequence parallelism, resumed on one process
        r = os.path.join(WORK, "tp2_resumed_tp1")
        cli.run(PLINTH, *common(r, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=8",
                                f"--checkpoint.resume={os.path.join(d, 'checkpoints', 'step_00000004')}"))
        res = cli.losses_by_step(os.path.join(r, "metrics.jsonl"))
        self.assertEqual(sorted(res), [5, 6, 7, 8])
        for step in res:
            self.assertLessEqual(abs(res[step] - ref[step]), 1e-5 * abs(ref[step]), f"resumed step {step}")

    def test_end_of_run_sample_with_the_model_as_laid_out(self):
        # tp 2: the model is never gathered onto one rank; the sample is skipped with a note that
        # names the saved checkpoint, and that advice works on one process
        d = os.path.join(WORK, "sample_tp2")
        p, _ = mpirun(2, *common(d, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=4",
                                 "--parallel.tp=2", "--sample.tokens=8"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ckpt = os.path.join(d, "checkpoints", "step_00000004")
        self.assertIn("sample skipped: the model is split over tp 2 x pp 1 ranks; use "
                      f"`plinth generate --checkpoint {ckpt}` on the saved checkpoint", p.stdout)
        self.assertNotIn("---- sample ----", p.stdout)
        g = cli.run(PLINTH, "generate", "--checkpoint", ckpt, "--prompt", "The ", "--max-tokens", "8")
        self.assertTrue(g.stdout.startswith("The "), g.stdout)
        # tp 1 (dp 2: every rank holds the whole model): the sample is printed as before
        d1 = os.path.join(WORK, "sample_dp2")
        p, _ = mpirun(2, *common(d1, "--train.micro_batch=4", "--train.global_batch=8", "--train.steps=4",
                                 "--sample.tokens=8"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("---- sample ----", p.stdout)
        self.assertNotIn("sample skipped", p.stdout)

    def test_tensor_parallel_bad_shapes(self):
        bad = os.path.join(WORK, "bad")
        self.expect_all_fail(4, common(bad, "--parallel.tp=4"),
                             "model.n_head (2) is not divisible by parallel.tp (4)")
        self.expect_all_fail(4, common(bad, "--parallel.tp=4", "--model.arch=llama", "--model.n_head=4",
                                       "--model.n_head_kv=2"), "parallel.tp (4) is larger than model.n_head_kv (2)")
        self.expect_all_fail(2, common(bad, "--parallel.tp=2", "--model.ffn_hidden=33"),
                             "model.ffn_hidden = 33) is not divisible by parallel.tp (2)")
        self.expect_all_fail(2, common(bad, "--parallel.tp=2", "--parallel.sequence_parallel=1", "--model.seq_len=31"),
                             "parallel.sequence_parallel needs model.seq_len (31) divisible by parallel.tp (2)")

    def expect_all_fail(self, n, args, *needles):
        p, elapsed = mpirun(n, *args, timeout=60)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        for needle in needles:
            self.assertIn(needle, out)
        self.assertNotIn("step    1/", out)      # failed before any training
        self.assertLess(elapsed, 30, out)
        return out

    def test_grid_does_not_match_world(self):
        self.expect_all_fail(2, common(os.path.join(WORK, "bad"), "--parallel.dp=3"),
                             "parallel.tp (1) x parallel.pp (1) x parallel.dp (3) = 3 does not equal the world size (2)")

    def test_global_batch_not_divisible(self):
        self.expect_all_fail(2, common(os.path.join(WORK, "bad"), "--train.micro_batch=3", "--train.global_batch=8"),
                             "train.global_batch (8) is not divisible by train.micro_batch (3) x dp (2) = 6")

    def test_bad_blending_weights(self):
        two = f"--data.corpus={BYTE},{BYTE}"
        self.expect_all_fail(2, common(os.path.join(WORK, "bad"), two, "--data.weights=1,-2"), "data.weights")
        self.expect_all_fail(2, common(os.path.join(WORK, "bad"), two, "--data.weights=0,0"),
                             "data.weights sum to zero")

    def test_corpora_with_different_vocabularies(self):
        self.expect_all_fail(2, common(os.path.join(WORK, "bad"), f"--data.corpus={BYTE},{BPE}",
                                       "--model.vocab_size=512"), "different vocabularies", BPE)

    def test_corpus_missing_on_one_rank(self):
        missing = os.path.join(WORK, "only-on-rank-0.h5")
        d = os.path.join(WORK, "bad")
        args = [MPIRUN, "-n", "1", PLINTH, *common(d), ":", "-n", "1", PLINTH, *common(d, f"--data.corpus={missing}")]
        t0 = time.time()
        p = subprocess.run(args, capture_output=True, text=True, env=mpi_env(), timeout=60)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("rank 1", out)
        self.assertIn(missing, out)
        self.assertLess(time.time() - t0, 30)

    def test_killed_rank_ends_the_job(self):
        d = os.path.join(WORK, "fault")
        args = [MPIRUN, "-n", "2", PLINTH, *common(d, "--train.steps=100000", "--checkpoint.interval=0")]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=mpi_env())
        try:
            out = ""
            while "step     3/" not in out:
                line = proc.stdout.readline()
                self.assertTrue(line, "mpirun ended before training started:\n" + out)
                out += line
            victim = cli.rank_pid(proc.pid, 1)
            self.assertIsNotNone(victim, "no rank-1 process under mpirun")
            t0 = time.time()
            os.kill(victim, signal.SIGKILL)
            rest, _ = proc.communicate(timeout=10 + 20)
            elapsed = time.time() - t0
            out += rest
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertLess(elapsed, 10 + 10, out)
        # the lost peer is named: Open MPI's report of rank 1, or our timeout message
        self.assertTrue(("rank 1" in out and ("signal 9" in out or "Killed" in out)) or "lost or stuck" in out, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
