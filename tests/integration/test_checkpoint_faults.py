"""test_checkpoint_faults.py -- checkpoints survive faults, through the real binary.
- a rank killed in the middle of a save: the previous checkpoint stays intact (byte for byte),
  no partial step directory appears, and --checkpoint.resume=auto continues from it;
- a flipped byte in a shard file's tensor data: loading it names the file and the tensor;
  resume=auto reports it, falls back to the previous valid checkpoint and says so; the damaged
  file is left as it was;
- a missing shard file, an index without a tensor, a checkpoint of another model shape: clear
  errors (exit 2) naming the file, tensor or shapes, and nothing is written;
- h5py reads a tensor of a 2-rank checkpoint whole through the index's virtual datasets."""
import glob
import hashlib
import os
import shutil
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
PY = "/usr/bin/python3"


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    return env


def setUpModule():
    global BYTE
    cli.fresh_dir(WORK)
    BYTE = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "byte.h5"))


def common(run_dir, *extra):
    return ["train", "--config", TINY, f"--data.corpus={BYTE}", f"--log.out_dir={run_dir}", "--sample.tokens=0",
            "--log.interval=1", "--eval.interval=0", "--parallel.comm_timeout=20", "--checkpoint.keep=20", *extra]


def tree_digest(d):
    h = hashlib.sha256()
    for p in sorted(glob.glob(os.path.join(d, "**"), recursive=True)):
        if os.path.isfile(p):
            h.update(p.encode())
            h.update(open(p, "rb").read())
    return h.hexdigest()


def h5py_eval(code):
    p = subprocess.run([PY, "-c", "import h5py, numpy as np\n" + code], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(p.stdout + p.stderr)
    return p.stdout.strip()


class Faults(unittest.TestCase):
    def train(self, *args, ranks=1, expect=0):
        cmd = ([MPIRUN, "-n", str(ranks)] if ranks > 1 else []) + [PLINTH, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=300)
        out = p.stdout + p.stderr
        if expect == 0:
            self.assertEqual(p.returncode, 0, out)
        else:
            self.assertEqual(p.returncode, expect, out)
        return out

    def test_rank_killed_during_save_keeps_the_previous_checkpoint(self):
        d = os.path.join(WORK, "killed")
        ckpts = os.path.join(d, "checkpoints")
        args = common(d, "--train.steps=400", "--checkpoint.interval=5", "--checkpoint.test_delay_s=3")
        proc = subprocess.Popen([MPIRUN, "-n", "2", PLINTH, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=mpi_env())
        try:
            deadline = time.time() + 120
            while not os.path.isdir(os.path.join(ckpts, "step_00000005")) and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.isdir(os.path.join(ckpts, "step_00000005")), "the first save never committed")
            before = tree_digest(os.path.join(ckpts, "step_00000005"))
            while not os.path.isdir(os.path.join(ckpts, ".tmp-step_00000010")) and time.time() < deadline:
                time.sleep(0.02)
            self.assertTrue(os.path.isdir(os.path.join(ckpts, ".tmp-step_00000010")), "the second save never started")
            os.kill(cli.rank_pid(proc.pid, 1), signal.SIGKILL)   # in the middle of writing its shard
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertFalse(os.path.exists(os.path.join(ckpts, "step_00000010")), out)
        self.assertEqual(open(os.path.join(ckpts, "latest")).read().strip(), "step_00000005")
        self.assertEqual(tree_digest(os.path.join(ckpts, "step_00000005")), before)
        out = self.train(*common(d, "--train.steps=8", "--checkpoint.resume=auto"), ranks=2)
        self.assertIn(f"resumed from {os.path.join(ckpts, 'step_00000005')} at step 5", out)

    def test_flipped_byte_is_detected_and_auto_falls_back(self):
        d = os.path.join(WORK, "flipped")
        ckpts = os.path.join(d, "checkpoints")
        self.train(*common(d, "--train.steps=10", "--checkpoint.interval=5"))
        shard = os.path.join(ckpts, "step_00000010", "shard_00000.h5")
        # the file offset of one piece's data, and its tensor name
        off, tensor = h5py_eval(
            f"f = h5py.File('{shard}', 'r')\n"
            "ds = max(f['pieces'].values(), key=lambda x: x.size)\n"
            "print(ds.id.get_offset(), ds.attrs['group'] + '/' + ds.attrs['tensor'])").split()
        data = bytearray(open(shard, "rb").read())
        data[int(off) + 101] ^= 0x40
        open(shard, "wb").write(bytes(data))
        damaged = tree_digest(os.path.join(ckpts, "step_00000010"))
        out = self.train(*common(os.path.join(WORK, "flipped_explicit"), "--train.steps=12",
                                 f"--checkpoint.resume={os.path.join(ckpts, 'step_00000010')}"), expect=2)
        for needle in ("shard_00000.h5", tensor, "checksum mismatch"):
            self.assertIn(needle, out)
        out = self.train(*common(d, "--train.steps=12", "--checkpoint.resume=auto"))
        self.assertIn(f"skipping invalid checkpoint '{os.path.join(ckpts, 'step_00000010')}'", out)
        self.assertIn(tensor, out)
        self.assertIn(f"resumed from {os.path.join(ckpts, 'step_00000005')} at step 5", out)
        self.assertEqual(tree_digest(os.path.join(ckpts, "step_00000010")), damaged)

    def test_missing_shard_missing_tensor_other_model(self):
        d = os.path.join(WORK, "two_ranks")
        ckpts = os.path.join(d, "checkpoints")
        self.train(*common(d, "--train.steps=5", "--parallel.zero=1", "--train.micro_batch=2"), ranks=2)
        step5 = os.path.join(ckpts, "step_00000005")
        self.assertEqual(sorted(os.listdir(step5)), ["index.h5", "shard_00000.h5", "shard_00001.h5"])
        # the index reads whole with h5py (virtual datasets over both shard files)
        shape = h5py_eval(f"f = h5py.File('{step5}/index.h5', 'r')\n"
                          "x = f['optim/exp_avg/embed.wte'][()]\nprint(x.shape[0], int(np.isnan(x).sum()))")
        self.assertEqual(shape.split()[1], "0", "holes in the virtual dataset")

        missing = os.path.join(WORK, "missing_shard")
        shutil.rmtree(missing, ignore_errors=True)
        shutil.copytree(step5, missing)
        os.remove(os.path.join(missing, "shard_00001.h5"))
        before = tree_digest(missing)
        out = self.train(*common(os.path.join(WORK, "r1"), "--train.steps=8", f"--checkpoint.resume={missing}"),
                         expect=2)
        self.assertIn("shard_00001.h5", out)
        self.assertIn("missing", out)
        self.assertEqual(tree_digest(missing), before)

        no_tensor = os.path.join(WORK, "no_tensor")
        shutil.rmtree(no_tensor, ignore_errors=True)
        shutil.copytree(step5, no_tensor)
        h5py_eval(f"f = h5py.File('{no_tensor}/index.h5', 'r+')\ndel f['model/layers.1.mlp.fc.weight']\nf.close()")
        out = self.train(*common(os.path.join(WORK, "r2"), "--train.steps=8", f"--checkpoint.resume={no_tensor}"),
                         expect=2)
        self.assertIn("no tensor 'model/layers.1.mlp.fc.weight'", out)

        out = self.train(*common(os.path.join(WORK, "r3"), "--train.steps=8", "--model.n_embd=64",
                                 f"--checkpoint.resume={step5}"), expect=2)
        self.assertIn(step5, out)
        self.assertIn("n_embd=64", out)
        for r in ("r1", "r2", "r3"):   # nothing written by the failed runs
            self.assertFalse(os.path.exists(os.path.join(WORK, r, "checkpoints", "step_00000008")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
