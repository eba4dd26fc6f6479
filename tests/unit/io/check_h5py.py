#!/usr/bin/env python3
"""Reads the files io_write_fixture wrote with h5py and checks them against docs/formats.md:
every attribute (name, type, value), dataset dtypes and shapes, the exact documents decoded from
the byte-tokenized corpus, the source digest, and every checkpoint checksum (XXH64, against python3-xxhash).
Usage: check_h5py.py <fixture dir>. Exits 77 (ctest SKIP) when h5py or numpy is missing."""
import json
import sys

try:
    import h5py
    import numpy as np
    import xxhash   # the reference xxHash library (python3-xxhash): checkpoint checksums are XXH64
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def xxh64(data: bytes) -> str:
    return xxhash.xxh64(data).hexdigest()


def expect(cond, msg):
    if not cond:
        print(f"FAIL: {msg}")
        sys.exit(1)


def check_corpus(d):
    with h5py.File(f"{d}/corpus_byte.h5", "r") as f:
        a = f.attrs
        strings = {"format": "plinth-corpus", "tokenizer": "byte", "dtype": "uint16",
                   "source_digest_algorithm": "fnv1a64", "created_by": "plinth"}
        for k, v in strings.items():
            expect(isinstance(a[k], str) and a[k] == v, f"attribute {k} = {a[k]!r}, want {v!r}")
        for k in ["format_version", "vocab_size", "eod_token", "n_docs_train", "n_docs_val",
                  "n_tokens_train", "n_tokens_val", "source_files"]:
            expect(a[k].dtype == np.int64, f"attribute {k} has dtype {a[k].dtype}, want int64")
        expect(a["seed"].dtype == np.uint64 and a["seed"] == 11, f"seed {a['seed']!r}")
        expect(a["val_fraction"].dtype == np.float64 and a["val_fraction"] == 0.34, "val_fraction")
        expect(a["format_version"] == 1 and a["vocab_size"] == 256 and a["eod_token"] == 0, "version/vocab/eod")
        expect(a["source_files"] == 2, "source_files")
        src = open(f"{d}/src/a.txt", "rb").read() + open(f"{d}/src/b.txt", "rb").read()
        expect(a["source_digest"] == fnv1a64(src), f"source_digest {a['source_digest']} != {fnv1a64(src)}")

        expected = json.load(open(f"{d}/expected_docs.json", encoding="utf-8"))
        for split in ["train", "val"]:
            tokens, offsets = f[f"{split}/tokens"], f[f"{split}/doc_offsets"]
            expect(tokens.dtype == np.uint16 and tokens.ndim == 1, f"{split}/tokens dtype {tokens.dtype}")
            expect(offsets.dtype == np.int64, f"{split}/doc_offsets dtype {offsets.dtype}")
            expect(tokens.shape[0] == a[f"n_tokens_{split}"], f"{split} token count")
            expect(offsets.shape[0] == a[f"n_docs_{split}"] + 1, f"{split} offsets count")
            off = offsets[()]
            want = [t for s, t in expected if s == split]
            expect(len(want) == len(off) - 1, f"{split}: {len(off) - 1} docs, want {len(want)}")
            for i, text in enumerate(want):
                doc = tokens[off[i]:off[i + 1]]            # hyperslab read
                expect(doc[-1] == 0, f"{split} doc {i} does not end with EOD")
                got = bytes(doc[:-1].astype(np.uint8)).decode("utf-8")
                expect(got == text, f"{split} doc {i}: {got!r} != {text!r}")
        model = f["tokenizer/model"]
        expect(model.dtype == np.uint8 and model.shape == (0,), f"tokenizer/model {model.dtype} {model.shape}")
        largest = max(int(f[f"{s}/tokens"][()].max(initial=0)) for s in ["train", "val"])
        expect(a["max_token_id"].dtype == np.int64 and a["max_token_id"] == largest,
               f"max_token_id {a['max_token_id']!r}, the largest token is {largest}")


def check_checkpoint(d):
    with h5py.File(f"{d}/ckpt/step_00000007/index.h5", "r") as f:
        a = f.attrs
        expect(a["format"] == "plinth-checkpoint" and a["format_version"] == 2, "checkpoint format")
        expect(a["checksum_algorithm"] == "xxh64" and a["created_by"] == "plinth", "checkpoint attrs")
        expect(a["tensor_groups"] == "model,optim/exp_avg", f"tensor_groups {a['tensor_groups']!r}")
        m = f["meta"]
        expect(m.attrs["step"] == 7 and m.attrs["tokenizer_kind"] == "byte", "meta attrs")
        expect(m["config_ini"].asstr()[()] == "[model]\nd_model = 3\n", "config_ini")
        expect(m["model_signature"].asstr()[()] == "d_model=3", "model_signature")
        expect(m["tokenizer_model"].dtype == np.uint8 and m["tokenizer_model"].shape == (0,), "tokenizer_model")
        expect(m["counters"].attrs["data.consumed_samples.0"] == 56, "counter")
        expect(m["scalars"].attrs["loss_scale"] == 1024.0, "scalar")
        expect(list(m["rng_states/data"][()]) == [1, 2, 3, 4] and m["rng_states/data"].dtype == np.uint64, "rng")
        emb = f["model/embed.weight"]
        expect(emb.dtype == np.float32 and emb.shape == (5, 3), f"embed {emb.dtype} {emb.shape}")
        expect(np.array_equal(emb[()].ravel(), 0.25 * np.arange(15, dtype=np.float32) - 1), "embed values")
        expect(f["optim/exp_avg/layers.0.norm.weight"].shape == (3,), "norm shape")
        n = 0

        expect(f["model/embed.weight"].is_virtual, "model/embed.weight is a virtual dataset over the shards")

        def visit(name, obj):
            nonlocal n
            if not isinstance(obj, h5py.Dataset) or obj.is_virtual:
                return
            if obj.dtype.kind == "O" or h5py.check_string_dtype(obj.dtype):
                data = obj[()]
                data = data if isinstance(data, bytes) else data.encode("utf-8")
            else:
                data = obj[()].astype(obj.dtype.newbyteorder("<")).tobytes()
            want = obj.attrs["checksum"]
            expect(xxh64(data) == want, f"{name}: checksum {xxh64(data)} != stored {want}")
            n += 1

        f.visititems(visit)
        expect(n == 4, f"checked {n} metadata datasets, want 4")
    with h5py.File(f"{d}/ckpt/step_00000007/shard_00000.h5", "r") as f:
        pieces = f["pieces"]
        expect(len(pieces) == 4, f"{len(pieces)} pieces in the shard file, want 4")
        for k, ds in pieces.items():
            data = ds[()].astype("<f4").tobytes()
            expect(xxh64(data) == ds.attrs["checksum"], f"piece {k} ({ds.attrs['tensor']}): checksum")
    # the index's whole-file checksum of every shard
    with h5py.File(f"{d}/ckpt/step_00000007/index.h5", "r") as f:
        shards = f["shards"].attrs
        expect(shards["count"] == 1, f"shards count {shards['count']}")
        with open(f"{d}/ckpt/step_00000007/shard_00000.h5", "rb") as g:
            whole = xxh64(g.read())
        expect(shards["shard_00000.h5"] == whole, f"shard file checksum {shards['shard_00000.h5']} != {whole}")


check_corpus(sys.argv[1])
check_checkpoint(sys.argv[1])
print("h5py: corpus and checkpoint match the documented schema")
