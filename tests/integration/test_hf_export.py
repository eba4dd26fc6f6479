"""test_hf_export.py -- `plinth ckpt info | verify | export | logits` end to end.

Tiny GPT-2 and LLaMA models are trained for a few steps with the real binary; each checkpoint is
exported to a Hugging Face folder (model.safetensors + config.json), loaded with Hugging Face
`transformers` (GPT2LMHeadModel / LlamaForCausalLM, safetensors only: no pickle is executed) and
its logits on a fixed prompt must equal plinth's (`plinth ckpt logits`) within 1e-4 at every
position. The models use a vocabulary padded past the real one (the export must drop the
padding rows), non-default norm epsilon and RoPE theta (config.json must carry them), grouped-
query attention, tied and untied heads. Also: `ckpt verify` passes on a good checkpoint and names
the tensor after one byte of its data is flipped; `ckpt info` prints step and layout; bad input
exits 2 naming what was wrong.

Needs /usr/bin/python3 with torch (Debian's python3-torch) and transformers + safetensors from
PyPI (scripts/install-deps.sh test).
"""
import json
import os
import shutil
import struct
import subprocess
import unittest

import plinth_cli as cli

OPTS = cli.parse_args()
PLINTH = OPTS["plinth"]
WORK = OPTS["workdir"]
SRC = OPTS["source"]
TINY = os.path.join(SRC, "configs", "tiny.ini")
PROMPT = list(b"Computers are like air")   # byte tokenizer: token ids are the bytes (22 <= seq_len 32)
TOLERANCE = 1e-4
MPIRUN = os.environ.get("PLINTH_MPIRUN", "mpirun")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
try:
    import torch
    import transformers
    from safetensors import safe_open
except ImportError as e:   # a failure, not a skip: CI installs them (scripts/install-deps.sh test)
    raise SystemExit(f"test_hf_export: {e}; install with: bash scripts/install-deps.sh test") from e

# name -> (overrides, HF class name). Every model pads its vocabulary (256 real rows -> 288).
# init_std 0.2 (not 0.02) makes activations large enough that a wrong GELU variant or RoPE theta
# moves the logits by more than the tolerance (checked below), so 1e-4 discriminates.
BIG = ["--model.init_std=0.2"]
MODELS = {
    "gpt2": (BIG + ["--model.vocab_pad_multiple=96", "--model.norm_eps=1e-6"], "GPT2LMHeadModel"),
    "gpt2_untied": (BIG + ["--model.vocab_pad_multiple=96", "--model.tie_embeddings=no", "--model.n_head=4"],
                    "GPT2LMHeadModel"),
    "llama_gqa": (BIG + ["--model.arch=llama", "--model.n_head=4", "--model.n_head_kv=2",
                         "--model.vocab_pad_multiple=96", "--model.rope_theta=500000", "--model.norm_eps=1e-6"],
                  "LlamaForCausalLM"),
    "llama_tied": (BIG + ["--model.arch=llama", "--model.n_head=4", "--model.n_head_kv=1",
                          "--model.vocab_pad_multiple=96", "--model.tie_embeddings=yes", "--model.n_layer=3"],
                   "LlamaForCausalLM"),
}
# Saved from a parallel layout (2 MPI ranks): the export reads full logical tensors whatever
# the ranks wrote.
MODELS["llama_tp2"] = (MODELS["llama_gqa"][0] + ["--parallel.tp=2"], "LlamaForCausalLM")
MODELS["gpt2_dp2_zero"] = (MODELS["gpt2"][0] + ["--parallel.zero=1"], "GPT2LMHeadModel")
RANKS = {"llama_tp2": 2, "gpt2_dp2_zero": 2}
RESULTS = {}   # name -> max |logit difference|


def train(name, *overrides, ranks=1):
    run_dir = os.path.join(WORK, name)
    args = ["train", "--config", TINY, f"--data.corpus={CORPUS}", f"--log.out_dir={run_dir}", "--train.steps=6",
            "--eval.interval=0", "--sample.tokens=0", *overrides]
    if ranks == 1:
        cli.run(PLINTH, *args)
    else:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
        p = subprocess.run([MPIRUN, "-n", str(ranks), PLINTH, *args], env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            raise AssertionError(f"mpirun -n {ranks} plinth {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return os.path.join(run_dir, "checkpoints")


def setUpModule():
    global CORPUS
    cli.fresh_dir(WORK)
    CORPUS = cli.prepare_small_corpus(PLINTH, os.path.join(WORK, "small.h5"))


def tearDownModule():
    for name, diff in sorted(RESULTS.items()):
        print(f"max |logit difference| plinth vs transformers {transformers.__version__}, {name}: {diff:.3e}")


def plinth_logits(ckpt, tokens):
    out = os.path.join(WORK, "logits.json")
    cli.run(PLINTH, "ckpt", "logits", ckpt, "--tokens", ",".join(map(str, tokens)), "--out", out)
    with open(out) as f:
        doc = json.load(f)
    return doc


def hf_logits(hf_dir, hf_class, **config_changes):
    """Logits of the exported model on PROMPT; config_changes edit a copy of its config.json."""
    if config_changes:
        copy = hf_dir + "_changed"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(hf_dir, copy)
        with open(os.path.join(copy, "config.json")) as f:
            config = json.load(f)
        config.update(config_changes)
        with open(os.path.join(copy, "config.json"), "w") as f:
            json.dump(config, f)
        hf_dir = copy
    model = getattr(transformers, hf_class).from_pretrained(hf_dir, use_safetensors=True, torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        return model, model(torch.tensor([PROMPT], dtype=torch.long)).logits[0].double()


def read_safetensors_header(path):
    """Parses the file layout by hand: 8-byte little-endian length, JSON header, data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data_len = len(f.read())
    return n, header, data_len


class HfExport(unittest.TestCase):
    def export_and_compare(self, name):
        overrides, hf_class = MODELS[name]
        ckpt = train(name, *overrides, ranks=RANKS.get(name, 1))
        hf_dir = os.path.join(WORK, name + "_hf")
        p = cli.run(PLINTH, "ckpt", "export", ckpt, "--out", hf_dir)
        self.assertIn("exported", p.stdout)
        self.assertEqual(sorted(os.listdir(hf_dir)), ["config.json", "model.safetensors"])

        # the file layout, checked without the safetensors library
        n, header, data_len = read_safetensors_header(os.path.join(hf_dir, "model.safetensors"))
        self.assertEqual(n % 8, 0)
        self.assertEqual(header["__metadata__"]["format"], "pt")
        spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
        self.assertEqual(spans[0][0], 0)
        for (a, b), (c, _) in zip(spans, spans[1:]):
            self.assertEqual(b, c)   # contiguous, no overlap
        self.assertEqual(spans[-1][1], data_len)
        for k, v in header.items():
            if k != "__metadata__":
                self.assertEqual(v["dtype"], "F32", k)
                count = 1
                for d in v["shape"]:
                    count *= d
                self.assertEqual(v["data_offsets"][1] - v["data_offsets"][0], 4 * count, k)

        with open(os.path.join(hf_dir, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["architectures"], [hf_class])
        self.assertEqual(config["vocab_size"], 256)   # padding rows (to 288) dropped
        embed = "transformer.wte.weight" if hf_class.startswith("GPT2") else "model.embed_tokens.weight"
        self.assertEqual(header[embed]["shape"][0], 256)
        tied = "--model.tie_embeddings=yes" in overrides or (
            hf_class.startswith("GPT2") and "--model.tie_embeddings=no" not in overrides)   # auto: gpt2 ties
        self.assertEqual(config["tie_word_embeddings"], tied)
        self.assertEqual("lm_head.weight" in header, not tied)

        model, hf = hf_logits(hf_dir, hf_class)
        if tied:
            self.assertEqual(model.lm_head.weight.data_ptr(), model.get_input_embeddings().weight.data_ptr())
        ref = plinth_logits(ckpt, PROMPT)
        self.assertEqual(ref["tokens"], PROMPT)
        self.assertEqual(ref["step"], 6)
        ours = torch.tensor(ref["logits"], dtype=torch.float64)
        self.assertEqual(tuple(ours.shape), (len(PROMPT), 256))
        self.assertEqual(tuple(hf.shape), tuple(ours.shape))
        diff = (hf - ours).abs().max().item()
        RESULTS[name] = diff
        self.assertLess(diff, TOLERANCE, f"{name}: max |logit difference| {diff}")
        # the comparison can fail: the logits vary with position and are far from constant
        self.assertGreater((ours[-1] - ours[0]).abs().max().item(), 10 * TOLERANCE)
        # and the weights are the trained ones, read back through the safetensors library too
        with safe_open(os.path.join(hf_dir, "model.safetensors"), framework="pt") as f:
            self.assertTrue(torch.equal(f.get_tensor(embed), model.get_input_embeddings().weight))
        return ckpt, hf_dir, config, ours

    def assert_change_is_detected(self, hf_dir, hf_class, ours, **config_changes):
        """The tolerance discriminates: a plausible wrong config.json is further than 1e-4 away."""
        _, wrong = hf_logits(hf_dir, hf_class, **config_changes)
        self.assertGreater((wrong - ours).abs().max().item(), TOLERANCE, config_changes)

    def test_gpt2_tied(self):
        _, hf_dir, config, ours = self.export_and_compare("gpt2")
        self.assertEqual(config["activation_function"], "gelu_new")
        self.assertAlmostEqual(config["layer_norm_epsilon"], 1e-6)
        self.assert_change_is_detected(hf_dir, "GPT2LMHeadModel", ours, activation_function="gelu")   # exact erf GELU

    def test_gpt2_untied_four_heads(self):
        self.export_and_compare("gpt2_untied")

    def test_llama_gqa(self):
        _, hf_dir, config, ours = self.export_and_compare("llama_gqa")
        self.assertEqual(config["num_key_value_heads"], 2)
        self.assertEqual(config["rope_theta"], 500000.0)
        self.assertAlmostEqual(config["rms_norm_eps"], 1e-6)
        self.assert_change_is_detected(hf_dir, "LlamaForCausalLM", ours, rope_theta=10000.0)
        self.assert_change_is_detected(hf_dir, "LlamaForCausalLM", ours, rms_norm_eps=1e-5)

    def test_llama_saved_at_tp2(self):
        ckpt, _, _, _ = self.export_and_compare("llama_tp2")
        info = cli.run(PLINTH, "ckpt", "info", ckpt).stdout
        self.assertIn("saved from layout: tp=2 pp=1 dp=1", info)

    def test_gpt2_saved_at_dp2_zero1(self):
        ckpt, _, _, _ = self.export_and_compare("gpt2_dp2_zero")
        info = cli.run(PLINTH, "ckpt", "info", ckpt).stdout
        self.assertIn("saved from layout: tp=1 pp=1 dp=2", info)
        self.assertIn("data: consumed_samples=48", info)   # 6 steps x 2 ranks x micro_batch 4

    def test_llama_tied_one_kv_head(self):
        _, _, config, _ = self.export_and_compare("llama_tied")
        self.assertEqual(config["num_key_value_heads"], 1)
        self.assertEqual(config["num_hidden_layers"], 3)


class CkptInfoVerify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = train("verify", "--checkpoint.interval=3")   # checkpoints at steps 3 and 6
        cls.step6 = os.path.join(cls.root, "step_00000006")

    def test_info_prints_step_layout_and_groups(self):
        p = cli.run(PLINTH, "ckpt", "info", self.root)   # a root: the newest checkpoint
        self.assertIn("step: 6", p.stdout)
        self.assertIn("saved from layout: tp=1 pp=1 dp=1", p.stdout)
        self.assertIn("arch=gpt2 n_layer=2 n_embd=32", p.stdout)
        self.assertIn("data: consumed_samples=24", p.stdout)   # 6 steps x micro_batch 4
        self.assertRegex(p.stdout, r"group model: \d+ tensors, \d+ values, \d+ bytes")
        self.assertIn("group optim/exp_avg_sq:", p.stdout)
        p3 = cli.run(PLINTH, "ckpt", "info", os.path.join(self.root, "step_00000003"))
        self.assertIn("step: 3", p3.stdout)
        self.assertIn("data: consumed_samples=12", p3.stdout)

    def test_verify_good_then_flipped_byte(self):
        p = cli.run(PLINTH, "ckpt", "verify", self.step6)
        self.assertIn("ok:", p.stdout)
        # Find the stored bytes of embed.wpe (exported unchanged as transformer.wpe.weight) in the
        # checkpoint's files, whatever their layout, and flip one byte in the middle of them.
        hf_dir = os.path.join(WORK, "verify_hf")
        cli.run(PLINTH, "ckpt", "export", self.step6, "--out", hf_dir)
        n, header, _ = read_safetensors_header(os.path.join(hf_dir, "model.safetensors"))
        begin, end = header["transformer.wpe.weight"]["data_offsets"]
        with open(os.path.join(hf_dir, "model.safetensors"), "rb") as f:
            f.seek(8 + n + begin)
            wpe = f.read(end - begin)
        hits = []
        for dirpath, _, files in os.walk(self.step6):
            for fn in files:
                path = os.path.join(dirpath, fn)
                with open(path, "rb") as f:
                    blob = f.read()
                at = blob.find(wpe)
                if at >= 0:
                    hits.append((path, at))
        self.assertEqual(len(hits), 1, hits)
        path, at = hits[0]
        with open(path, "r+b") as f:
            f.seek(at + len(wpe) // 2)
            b = f.read(1)
            f.seek(at + len(wpe) // 2)
            f.write(bytes([b[0] ^ 0x10]))
        p = cli.run(PLINTH, "ckpt", "verify", self.step6, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("embed.wpe", p.stderr)
        self.assertIn(os.path.basename(path), p.stderr)
        self.assertNotIn("ok:", p.stdout)
        # the export refuses it too (every tensor read is checksum-verified)
        p = cli.run(PLINTH, "ckpt", "export", self.step6, "--out", os.path.join(WORK, "bad_hf"), check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("embed.wpe", p.stderr)
        # the older checkpoint is untouched and still verifies
        cli.run(PLINTH, "ckpt", "verify", os.path.join(self.root, "step_00000003"))


class CkptBadInput(unittest.TestCase):
    def test_bad_input_exits_2_naming_it(self):
        missing = os.path.join(WORK, "no_such_ckpt")
        EMPTY = cli.fresh_dir(os.path.join(WORK, "empty_dir"))
        cases = [
            (["ckpt", "info", missing], "no_such_ckpt"),
            (["ckpt", "verify", EMPTY], "empty_dir"),   # a directory that holds no checkpoint
            (["ckpt", "export", missing, "--out", os.path.join(WORK, "x")], "no_such_ckpt"),
            (["ckpt", "export", missing], "--out"),
            (["ckpt", "frobnicate", missing], "frobnicate"),
        ]
        for args, needle in cases:
            p = cli.run(PLINTH, *args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(needle, p.stderr, args)

    def test_unknown_format_and_bad_tokens(self):
        ckpt = train("formats")
        p = cli.run(PLINTH, "ckpt", "export", ckpt, "--out", os.path.join(WORK, "f_hf"), "--format", "onnx",
                    check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--format 'onnx'", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(WORK, "f_hf")))
        for tokens, needle in (("1,x", "'x'"), ("1,256", "256"), (",".join(["1"] * 33), "seq_len")):
            p = cli.run(PLINTH, "ckpt", "logits", ckpt, "--tokens", tokens, check=False)
            self.assertEqual(p.returncode, 2, (tokens, p.stderr))
            self.assertIn(needle, p.stderr, tokens)


if __name__ == "__main__":
    unittest.main(verbosity=2)
