#!/usr/bin/python3
"""torch_gpt.py -- the PyTorch peer of bench_train_step: the same GPT-2 model and training step.

Run with Debian's /usr/bin/python3 (python3-torch 1.13). The model is written plainly: learned
positions, pre-LayerNorm blocks, causal self-attention (fused qkv projection), GELU (tanh) MLP,
final LayerNorm, output layer tied to the token embedding. One step: zero grads, forward, mean
cross-entropy, backward, clip_grad_norm_(1.0), AdamW(lr 1e-3, betas (0.9, 0.95), eps 1e-8,
weight decay 0.1 on 2-D parameters only). Data: random tokens and targets uniform in [0, vocab)
from torch's generator with --seed (not the same numbers as plinth's).

Prints one JSON line with the same keys as bench_train_step ("impl": "torch"). The peer gets its
best setup: torch.set_num_threads(N); bench/run_vs_torch.sh runs it with OMP_NUM_THREADS=N and
LD_LIBRARY_PATH pointing at the OpenMP build of OpenBLAS (the pthreads build does not share
torch's OpenMP pool). --attn auto uses scaled_dot_product_attention where torch has it (2.0+),
otherwise the manual masked softmax; --adamw-foreach picks the multi-tensor AdamW (default on).

  /usr/bin/python3 bench/torch_gpt.py --vocab 256 --layers 4 --embd 128 --heads 4 --seq 128 \
      --batch 16 --steps 20 --warmup 3 --threads 1 --seed 1
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH, T, attn):
        super().__init__()
        self.NH, self.attn_kind = NH, attn
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.fc = nn.Linear(C, 4 * C)
        self.fc_proj = nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1), persistent=False)

    def attention(self, x):
        B, T, C = x.shape
        NH, HS = self.NH, C // self.NH
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, NH, HS).transpose(1, 2)   # (B, NH, T, HS)
        k = k.view(B, T, NH, HS).transpose(1, 2)
        v = v.view(B, T, NH, HS).transpose(1, 2)
        if self.attn_kind == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
            att = att.masked_fill(self.mask[:T, :T], float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, L, C, NH, T, attn):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList([Block(C, NH, T, attn) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, mean=0.0, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.blocks:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)   # tied output layer
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def flops_per_token(V, L, C, T):
    # Same formula as plinth::model::model_flops_per_token (GPT-2, no GQA, F = 4C).
    F_ = 4 * C
    matmul_params = L * (2 * C * C + 2 * C * C + 2 * C * F_) + V * C
    attn = L * 2.0 * 2.0 * C * (T + 1) / 2.0
    return 3.0 * (2.0 * matmul_params + attn)


def openblas_info(threads):
    """The OpenBLAS library this process loaded (through libblas.so.3), its build and core."""
    path = None
    with open("/proc/self/maps") as f:
        for line in f:
            if "libopenblas" in line:
                path = line.split()[-1]
                break
    if not path:
        return "openblas=not loaded"
    lib = ctypes.CDLL(path)
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_set_num_threads(ctypes.c_int(threads))
    par = {0: "SEQUENTIAL", 1: "PTHREADS", 2: "OPENMP"}.get(lib.openblas_get_parallel(), "UNKNOWN")
    return "blas=%s (%s, core %s) path=%s" % (
        lib.openblas_get_config().decode().strip(), par, lib.openblas_get_corename().decode().strip(), path)


def measure_sgemm_gflops(n, seconds):
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b.t(), out=c)
    reps, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b.t(), out=c)
        reps += 1
        if time.perf_counter() - t0 >= seconds:
            break
    return 2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="gpt2", choices=["gpt2"])
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embd", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sgemm-seconds", type=float, default=1.0)
    ap.add_argument("--attn", default="auto", choices=["auto", "manual", "sdpa"])
    ap.add_argument("--adamw-foreach", type=int, default=1, choices=[0, 1])
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    blas = openblas_info(a.threads)
    attn = a.attn
    if attn == "auto":
        attn = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "manual"
    if attn == "sdpa" and not hasattr(F, "scaled_dot_product_attention"):
        sys.exit("torch %s has no scaled_dot_product_attention" % torch.__version__)

    torch.manual_seed(a.seed)
    model = GPT(a.vocab, a.layers, a.embd, a.heads, a.seq, attn)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8, foreach=bool(a.adamw_foreach))

    total = a.warmup + a.steps
    g = torch.Generator().manual_seed(a.seed)
    tokens = torch.randint(0, a.vocab, (total, a.batch, a.seq), generator=g)
    targets = torch.randint(0, a.vocab, (total, a.batch, a.seq), generator=g)

    losses, timed = [], 0.0
    for s in range(total):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(tokens[s], targets[s])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()
        dt = time.perf_counter() - t0
        if not math.isfinite(lv):
            sys.exit("loss is not finite at step %d" % (s + 1))
        losses.append(lv)
        if s >= a.warmup:
            timed += dt

    step_s = timed / a.steps
    tok_s = a.batch * a.seq / step_s
    fpt = flops_per_token(a.vocab, a.layers, a.embd, a.seq)
    model_gflops = tok_s * fpt / 1e9
    sgemm = measure_sgemm_gflops(1024, a.sgemm_seconds)
    cap = [l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    backend = [l.split(":", 1)[1].strip() for l in torch.__config__.parallel_info().splitlines()
               if "parallel backend" in l]
    setup = "threads=%d torch=%s parallel=%s attn=%s adamw_foreach=%d cpu_capability=%s %s" % (
        torch.get_num_threads(), torch.__version__, backend[0] if backend else "?", attn, a.adamw_foreach,
        cap[0] if cap else "?", blas)
    out = {
        "impl": "torch",
        "config": {"arch": a.arch, "vocab": a.vocab, "layers": a.layers, "embd": a.embd, "heads": a.heads,
                   "seq": a.seq, "batch": a.batch, "steps": a.steps, "warmup": a.warmup, "seed": a.seed,
                   "params": sum(p.numel() for p in model.parameters())},
        "threads": a.threads,
        "tokens_per_s": round(tok_s, 2),
        "step_ms": round(step_s * 1e3, 3),
        "losses": [float("%.7g" % x) for x in losses[:5]],
        "model_flops_per_token": fpt,
        "model_gflops_per_s": round(model_gflops, 3),
        "sgemm_gflops_per_s": round(sgemm, 3),
        "ratio_to_sgemm": round(model_gflops / sgemm, 4),
        "compute_setup": setup,
    }
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
