#!/usr/bin/env python3
"""check_layers.py -- fail when an #include crosses the layer arrows.

launch -> train -> {model, optim, io, parallel} -> {kernels, parallel/comm} -> core
model may use parallel/tensor_parallel only; core includes no MPI, HDF5 or CUDA header.
parallel/parallel_options.h (the configuration enums) is a layer of its own that includes no
project header: model, train and launch name the parallel settings through it.
Usage: check_layers.py REPO_ROOT   (prints the offending lines, exits 1 if any)
"""
import os
import re
import sys

# layer of a path (relative to the repo root) -> the layers it may include
LAYERS = {
    "src/core": {"core"},
    "kernels": {"core", "kernels"},
    "parallel/parallel_options.h": set(),
    "parallel/comm": {"core", "comm"},
    "parallel": {"core", "comm", "parallel", "tensor_parallel", "parallel_options"},
    "src/model": {"core", "kernels", "model", "tensor_parallel", "parallel_options", "comm"},
    "src/optim": {"core", "kernels", "optim"},
    "src/io": {"core", "io"},
    "src/sweep": {"core", "kernels", "model", "io", "sweep"},
    "src/train": {"core", "kernels", "comm", "parallel", "tensor_parallel", "parallel_options", "model", "optim", "io",
                  "train"},
    "launch": {"core", "kernels", "comm", "parallel", "tensor_parallel", "parallel_options", "model", "optim", "io",
               "train", "sweep", "launch"},
}
FORBIDDEN_IN_CORE = ("mpi.h", "hdf5.h", "H5", "cuda", "nccl")


def layer_of_include(inc):
    if inc.startswith("parallel/comm/"):
        return "comm"
    if inc.startswith("parallel/tensor_parallel"):
        return "tensor_parallel"
    if inc == "parallel/parallel_options.h":
        return "parallel_options"
    for name in ("core", "kernels", "parallel", "model", "optim", "io", "sweep", "train", "launch"):
        if inc.startswith(name + "/"):
            return name
    return None  # system or third-party header


def layer_of_file(rel):
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if rel == prefix or rel.startswith(prefix + "/"):
            return prefix
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = []
    checked = 0
    for top in ("src", "kernels", "parallel", "launch"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith((".h", ".cpp", ".cu", ".cuh")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                layer = layer_of_file(rel)
                if layer is None:
                    continue
                checked += 1
                for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                    m = re.match(r'\s*#\s*include\s*[<"]([^>"]+)[>"]', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if layer == "src/core" and any(x in inc for x in FORBIDDEN_IN_CORE):
                        bad.append(f"{rel}:{n}: core must not include {inc}")
                    target = layer_of_include(inc)
                    if target is not None and target not in LAYERS[layer]:
                        bad.append(f"{rel}:{n}: layer '{layer}' must not include '{inc}' (layer '{target}')")
    for b in bad:
        print(b)
    print(f"check_layers: {checked} files, {len(bad)} crossing includes")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
