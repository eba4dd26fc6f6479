"""test_bad_input.py -- every kind of bad input gets a clear error naming the key or file, a
non-zero exit, and loses nothing (no half-written corpus or checkpoint, earlier ones intact)."""
import hashlib
import os
import shutil
import unittest

import plinth_cli as cli

OPTS = cli.parse_args()
PLINTH = OPTS["plinth"]
WORK = OPTS["workdir"]
SRC = OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")


def tree_digest(root):
    """Digest of every file under root (names and contents)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            h.update(p.encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def setUpModule():
    global CORPUS, RUN, CKPTS
    cli.fresh_dir(WORK)
    CORPUS = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "small.h5"), files=("computers",))
    RUN = os.path.join(WORK, "good")
    cli.run(PLINTH, "train", "--config", TINY, f"--data.corpus={CORPUS}", f"--log.out_dir={RUN}",
            "--train.steps=4", "--checkpoint.interval=2", "--sample.tokens=0")
    CKPTS = os.path.join(RUN, "checkpoints")


class BadInput(unittest.TestCase):
    def expect_failure(self, args, *needles, code=2):
        p = cli.run(PLINTH, *args, check=False)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        if code is not None:
            self.assertEqual(p.returncode, code, out)
        for n in needles:
            self.assertIn(n, out)
        return out

    def train_fails(self, *extra, needles=(), out_dir=None, config=TINY):
        out_dir = out_dir or os.path.join(WORK, "bad_run")
        shutil.rmtree(out_dir, ignore_errors=True)
        before = tree_digest(CKPTS)
        out = self.expect_failure(["train", "--config", config, f"--data.corpus={CORPUS}", f"--log.out_dir={out_dir}",
                                   "--sample.tokens=0", *extra], *needles)
        self.assertEqual(tree_digest(CKPTS), before, "an existing checkpoint was modified")
        ck = os.path.join(out_dir, "checkpoints")
        self.assertFalse(os.path.isdir(ck) and os.listdir(ck), f"a failed run left checkpoints: {ck}")
        return out

    # ---- configuration and command line ----
    def test_device_kind_unknown_or_unavailable(self):
        # an unknown device name, and a device this build cannot train on yet (the CUDA backend
        # comes after the device seam): both refused before training, naming device.kind
        self.train_fails("--device.kind=tpu", needles=("device.kind", "tpu"))
        self.train_fails("--device.kind=cuda", needles=("device.kind",))

    def test_unknown_key_in_config_file(self):
        bad = os.path.join(WORK, "unknown.ini")
        with open(bad, "w") as f:
            f.write("[model]\nn_layer = 2\nn_layyer = 3\n")
        self.train_fails(config=bad, needles=("model.n_layyer", bad))

    def test_unknown_key_on_command_line(self):
        self.train_fails("--train.bogus=1", needles=("train.bogus",))

    def test_malformed_value(self):
        self.train_fails("--train.steps=12x", needles=("train.steps", "12x"))
        self.train_fails("--optim.lr=fast", needles=("optim.lr",))

    def test_heads_do_not_divide_width(self):
        self.train_fails("--model.n_embd=30", "--model.n_head=4",
                         needles=("model.n_embd (30) is not divisible by model.n_head (4)",))

    def test_non_positive_values(self):
        self.train_fails("--optim.lr=-1", needles=("optim.lr must be positive",))
        self.train_fails("--optim.lr=0", needles=("optim.lr must be positive",))
        self.train_fails("--train.micro_batch=0", needles=("train.micro_batch must be positive",))
        self.train_fails("--train.steps=0", needles=("train.steps must be positive",))
        self.train_fails("--train.steps=-5", needles=("train.steps must be positive",))

    def test_unknown_subcommand_and_option(self):
        self.expect_failure(["fly"], "unknown command 'fly'")
        self.expect_failure(["prepare", "--inptu", "x"], "inptu")

    # ---- corpus ----
    def test_missing_corpus(self):
        missing = os.path.join(WORK, "does_not_exist.h5")
        self.train_fails(f"--data.corpus={missing}", needles=(missing,))

    def test_corpus_not_hdf5(self):
        p = os.path.join(WORK, "not_hdf5.h5")
        with open(p, "w") as f:
            f.write("this is not an HDF5 file\n" * 10)
        self.train_fails(f"--data.corpus={p}", needles=(p,))

    def _h5py(self):
        try:
            import h5py  # noqa: F401
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("h5py/numpy not installed for this python (scripts/install-deps.sh test)")
        import h5py
        import numpy
        return h5py, numpy

    def _copy_corpus_with(self, name, mutate):
        h5py, numpy = self._h5py()
        p = os.path.join(WORK, name)
        shutil.copy(CORPUS, p)
        with h5py.File(p, "r+") as f:
            mutate(f, numpy)
        return p

    def test_corpus_without_token_dataset(self):
        p = self._copy_corpus_with("no_tokens.h5", lambda f, np: f["train"].__delitem__("tokens"))
        self.train_fails(f"--data.corpus={p}", needles=(p, "tokens"))

    def test_corpus_with_float_tokens(self):
        def mutate(f, np):
            data = f["train/tokens"][...].astype(np.float32)
            del f["train/tokens"]
            f["train"].create_dataset("tokens", data=data)
        p = self._copy_corpus_with("float_tokens.h5", mutate)
        self.train_fails(f"--data.corpus={p}", needles=(p, "tokens"))

    def test_corpus_vocab_larger_than_model(self):
        self.train_fails("--model.vocab_size=100", needles=(CORPUS, "vocab_size"))

    def test_corpus_shorter_than_one_sequence(self):
        txt = os.path.join(WORK, "short.txt")
        with open(txt, "w") as f:
            f.write("short one\n%\nand another\n%\nthird\n%\nfourth document\n")
        short = os.path.join(WORK, "short.h5")
        cli.run(PLINTH, "prepare", "--input", txt, "--separator", "%", "--val-fraction", "0.3", "--output", short)
        out = self.train_fails(f"--data.corpus={short}", needles=(short, "fewer than one sequence"))
        self.assertNotIn("bad_alloc", out)

    def test_prepare_without_matching_input_writes_nothing(self):
        out = os.path.join(WORK, "never.h5")
        self.expect_failure(["prepare", "--input", os.path.join(WORK, "nothing-*.txt"), "--output", out],
                            "nothing-*.txt")
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(WORK) if f.startswith("never.h5")], [])

    # ---- checkpoints ----
    def _copy_checkpoint(self, name):
        src = os.path.join(CKPTS, "step_00000004")
        dst = os.path.join(WORK, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
        return dst, os.path.join(dst, "shard_00000.h5")

    def test_truncated_checkpoint(self):
        d, state = self._copy_checkpoint("truncated")
        size = os.path.getsize(state)
        with open(state, "r+b") as f:
            f.truncate(size // 2)
        self.train_fails("--train.steps=8", "--checkpoint.allow_changes=train.steps", f"--checkpoint.resume={d}",
                         needles=(state,))

    def test_corrupt_checkpoint(self):
        d, state = self._copy_checkpoint("corrupt")
        data = bytearray(open(state, "rb").read())
        # flip bytes throughout the second half, where tensor data lives
        for i in range(len(data) // 2, len(data) - 64, 997):
            data[i] ^= 0x5A
        open(state, "wb").write(bytes(data))
        self.train_fails("--train.steps=8", "--checkpoint.allow_changes=train.steps", f"--checkpoint.resume={d}",
                         needles=(state,))

    def test_checkpoint_of_another_model_shape(self):
        d = os.path.join(CKPTS, "step_00000004")
        self.train_fails("--train.steps=8", "--model.n_layer=3", f"--checkpoint.resume={d}",
                         needles=(d, "n_layer=2", "n_layer=3"))

    def test_checkpoint_path_missing(self):
        d = os.path.join(WORK, "no_such_checkpoint")
        self.train_fails("--train.steps=8", f"--checkpoint.resume={d}", needles=(d,))


if __name__ == "__main__":
    unittest.main(verbosity=2)
