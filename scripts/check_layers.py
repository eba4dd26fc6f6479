#!/usr/bin/env python3
"""check_layers.py -- fail when an #include crosses the layer arrows, or when code above the
device seam touches memory or compute other than through the backend.

launch -> train -> {model, optim, io, parallel} -> device -> kernels -> core;  parallel/comm -> core
model may use parallel/tensor_parallel only; core includes no MPI, HDF5 or CUDA header.
The seam (src/device/backend.h): src/model, src/optim, src/train and parallel/ (outside comm)
hold device buffers and call the backend; they must not name the host buffer type
(AlignedBuffer), call a kernel directly (kernels::, kernels/ headers) or run OpenMP loops; model
and optim must not memcpy / memset either (device memory is copied by Backend::copy*). Host-side
data that never is a device tensor (token windows, export files) is allowlisted per file below.
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
    "src/device": {"core", "kernels", "device"},
    "parallel/parallel_options.h": set(),
    "parallel/comm": {"core", "comm"},
    "parallel": {"core", "comm", "parallel", "tensor_parallel", "parallel_options", "device"},
    "src/model": {"core", "device", "model", "tensor_parallel", "parallel_options", "comm"},
    "src/optim": {"core", "device", "optim"},
    "src/io": {"core", "io"},
    "src/sweep": {"core", "model", "io", "sweep"},
    "src/train": {"core", "device", "comm", "parallel", "tensor_parallel", "parallel_options", "model", "optim", "io",
                  "train"},
    "launch": {"core", "kernels", "device", "comm", "parallel", "tensor_parallel", "parallel_options", "model", "optim",
               "io", "train", "sweep", "launch"},
}

# Above the seam: what a file of these layers must not contain (comments stripped first).
HOST_BUFFER = (r"\bAlignedBuffer\b", "holds a host buffer (AlignedBuffer); use device::DeviceBuffer / HostBuffer")
KERNEL_CALL = (r"\bkernels::", "calls a kernel directly; go through device::Backend")
OPENMP = (r"#\s*pragma\s+omp", "runs an OpenMP loop; tensor loops belong in kernels behind the backend")
RAW_COPY = (r"\b(?:std::)?mem(?:cpy|set|move)\s*\(", "copies memory by hand; use Backend::copy / zero")
SEAM_RULES = {
    "src/model": [HOST_BUFFER, KERNEL_CALL, OPENMP, RAW_COPY],
    "src/optim": [HOST_BUFFER, KERNEL_CALL, OPENMP, RAW_COPY],
    "src/train": [HOST_BUFFER, KERNEL_CALL, OPENMP, RAW_COPY],
    "parallel": [HOST_BUFFER, KERNEL_CALL, OPENMP, RAW_COPY],
}
# (file, rule message prefix) pairs allowed, each with its reason
SEAM_ALLOW = {
    # host-side parameter initialisation (generated on the host, then copied to the device once)
    ("src/model/param_layout.cpp", OPENMP[1]),
    # token windows read from the corpus: host int32 data, copied to the device by the trainer
    ("src/train/data_coordinator.cpp", RAW_COPY[1]),
    # the Hugging Face export reads checkpoint files on the host (no device buffer involved)
    ("src/train/hf_export.cpp", RAW_COPY[1]),
}
FORBIDDEN_IN_CORE = ("mpi.h", "hdf5.h", "H5", "cuda", "nccl")


def layer_of_include(inc):
    if inc.startswith("parallel/comm/"):
        return "comm"
    if inc.startswith("parallel/tensor_parallel"):
        return "tensor_parallel"
    if inc == "parallel/parallel_options.h":
        return "parallel_options"
    for name in ("core", "kernels", "device", "parallel", "model", "optim", "io", "sweep", "train", "launch"):
        if inc.startswith(name + "/"):
            return name
    return None  # system or third-party header


def layer_of_file(rel):
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if rel == prefix or rel.startswith(prefix + "/"):
            return prefix
    return None


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.split("\n"))


def seam_violations(rel, layer, text):
    out = []
    code = strip_comments(text)
    for n, line in enumerate(code.split("\n"), 1):
        for pattern, message in SEAM_RULES.get(layer, []):
            if re.search(pattern, line) and (rel, message) not in SEAM_ALLOW:
                out.append(f"{rel}:{n}: {message}")
    return out


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
                text = open(path, encoding="utf-8", errors="replace").read()
                bad.extend(seam_violations(rel, layer, text))
                for n, line in enumerate(text.split("\n"), 1):
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
    print(f"check_layers: {checked} files, {len(bad)} crossing includes or seam violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
