"""test_pipeline_cli.py -- plinth train with pipeline parallelism through the command line, and
the stop-signal path.
- pp = 2 under mpirun (1F1B, GPipe, interleaved) gives the single-process losses; a checkpoint
  saved at pp = 2 resumes on one process;
- bad pipeline settings fail on every rank before training, naming the key;
- SIGUSR1 to one rank of a pp = 2 job (or SIGTERM to a single process): every rank stops at the
  next step boundary, a checkpoint is saved, the exit code is 75; resuming with
  --checkpoint.resume=auto finishes the run with exactly the losses of an uninterrupted one."""
import glob
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
EXIT_REQUEUE = 75


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    return env


def mpirun(n, *args, timeout=180):
    return subprocess.run([MPIRUN, "-n", str(n), PLINTH, *map(str, args)], capture_output=True, text=True,
                          env=mpi_env(), timeout=timeout)


def setUpModule():
    global BYTE
    cli.fresh_dir(WORK)
    BYTE = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "byte.h5"))


def common(run_dir, *extra):
    return ["train", "--config", TINY, f"--data.corpus={BYTE}", f"--log.out_dir={run_dir}", "--sample.tokens=0",
            "--log.interval=1", "--eval.interval=0", "--parallel.comm_timeout=20", "--model.n_layer=4",
            "--train.micro_batch=2", "--train.global_batch=8", *extra]


class Pipeline(unittest.TestCase):
    def test_pipeline_matches_one_process_and_resumes_on_one(self):
        one = os.path.join(WORK, "one")
        cli.run(PLINTH, *common(one, "--train.micro_batch=8"))
        ref = cli.losses_by_step(os.path.join(one, "metrics.jsonl"))
        for sched, extra in (("1f1b", []), ("gpipe", []), ("interleaved", ["--parallel.pp_chunks=2"])):
            d = os.path.join(WORK, f"pp2_{sched}")
            p = mpirun(2, *common(d, "--parallel.pp=2", f"--parallel.pp_schedule={sched}", "--checkpoint.interval=10",
                                  *extra))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn(f"pipeline: pp 2, schedule {sched}, 4 micro-batches per step", p.stdout)
            got = cli.losses_by_step(os.path.join(d, "metrics.jsonl"))
            self.assertEqual(sorted(got), sorted(ref))
            for step in ref:
                self.assertLessEqual(abs(got[step] - ref[step]), 1e-5 * abs(ref[step]), f"{sched} step {step}")
        # the pp = 2 checkpoint of step 10, resumed by one process
        r = os.path.join(WORK, "pp2_resumed_on_one")
        cli.run(PLINTH, *common(r, "--train.micro_batch=8",
                                f"--checkpoint.resume={os.path.join(WORK, 'pp2_1f1b', 'checkpoints', 'step_00000010')}"))
        res = cli.losses_by_step(os.path.join(r, "metrics.jsonl"))
        self.assertEqual(sorted(res), list(range(11, 21)))
        for step in res:
            self.assertLessEqual(abs(res[step] - ref[step]), 1e-5 * abs(ref[step]), f"resumed step {step}")

    def expect_all_fail(self, n, args, needle):
        t0 = time.time()
        p = mpirun(n, *args, timeout=60)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn(needle, out)
        self.assertNotIn("step    1/", out)      # failed before any training
        self.assertLess(time.time() - t0, 30, out)

    def test_bad_pipeline_settings(self):
        bad = os.path.join(WORK, "bad")
        self.expect_all_fail(4, common(bad, "--parallel.pp=4", "--model.n_layer=2"),
                             "parallel.pp (4) = 4 stages is more than model.n_layer (2)")
        self.expect_all_fail(4, common(bad, "--parallel.pp=4", "--train.micro_batch=4"),
                             "parallel.pp_schedule = 1f1b needs at least parallel.pp (4) micro-batches per step, got 2")
        self.expect_all_fail(2, common(bad, "--parallel.pp=2", "--parallel.pp_schedule=interleaved",
                                       "--parallel.pp_chunks=2", "--model.n_layer=6"),
                             "model.n_layer (6) is not divisible by parallel.pp x parallel.pp_chunks (4)")
        self.expect_all_fail(2, common(bad, "--parallel.pp=2", "--parallel.pp_layers=0-1,3"),
                             "parallel.pp_layers: virtual stage 1 starts at layer 3 but layer 2 is not covered")
        self.expect_all_fail(2, common(bad, "--parallel.pp=2", "--parallel.pp_schedule=zigzag"),
                             "parallel.pp_schedule must be gpipe, 1f1b or interleaved, got 'zigzag'")


class StopSignal(unittest.TestCase):
    def run_until_signalled(self, cmd, run_dir, sig, pick_pid):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=mpi_env())
        out = ""
        try:
            while "step     3/" not in out:
                line = proc.stdout.readline()
                self.assertTrue(line, "ended before training started:\n" + out)
                out += line
            os.kill(pick_pid(proc.pid), sig)
            rest, _ = proc.communicate(timeout=120)
            out += rest
        finally:
            if proc.poll() is None:
                proc.kill()
        return proc.returncode, out

    def check_saved_and_resumed(self, name, ranks, extra, sig, pick_pid):
        steps = ["--train.steps=400", "--checkpoint.interval=0"]
        full = os.path.join(WORK, f"{name}_full")
        ref_cmd = common(full, *steps, *extra)
        p = mpirun(ranks, *ref_cmd) if ranks > 1 else cli.run(PLINTH, *ref_cmd)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ref = cli.losses_by_step(os.path.join(full, "metrics.jsonl"))

        d = os.path.join(WORK, name)
        cmd = common(d, *steps, *extra, "--checkpoint.resume=auto")
        launch = [MPIRUN, "-n", str(ranks), PLINTH, *cmd] if ranks > 1 else [PLINTH, *cmd]
        code, out = self.run_until_signalled(launch, d, sig, pick_pid)
        self.assertEqual(code, EXIT_REQUEUE, out)
        self.assertIn(f"stopped by {signal.Signals(sig).name}", out)
        saved = sorted(glob.glob(os.path.join(d, "checkpoints", "step_*")))
        self.assertEqual(len(saved), 1, out)
        stopped_at = int(saved[0].rsplit("_", 1)[1])
        self.assertLess(stopped_at, 400)
        # the requeued job: same command
        p = mpirun(ranks, *cmd, timeout=300) if ranks > 1 else cli.run(PLINTH, *cmd)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(f"resumed from {saved[0]} at step {stopped_at}", p.stdout + p.stderr)
        got = cli.losses_by_step(os.path.join(d, "metrics.jsonl"))
        self.assertEqual(sorted(got), sorted(ref))
        for step in ref:   # same layout: the continued run is bit-identical
            self.assertEqual(got[step], ref[step], f"step {step} (stopped at {stopped_at})")

    def test_sigusr1_to_one_rank_of_a_pipeline(self):
        self.check_saved_and_resumed("sig_pp2", 2, ["--parallel.pp=2"], signal.SIGUSR1,
                                     lambda root: cli.rank_pid(root, 1))

    def test_sigterm_to_a_single_process(self):
        self.check_saved_and_resumed("sig_one", 1, [], signal.SIGTERM, lambda root: root)


if __name__ == "__main__":
    unittest.main(verbosity=2)
