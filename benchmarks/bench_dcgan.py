"""DCGAN-MNIST training step (issue 4): one discriminator step on real + fake, then one
non-saturating generator step, batch 64, Adam, float32 — tinygan against PyTorch CPU.

G: z(100) -> Linear(100, 6272) -> Unflatten -> BN(128) -> ReLU -> ConvT(128, 64, 4, 2, 1) -> BN(64)
   -> ReLU -> ConvT(64, 1, 4, 2, 1) -> Tanh                                 (N, 1, 28, 28)
D: Conv(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv(64, 128, 4, 2, 1) -> BN(128) -> LeakyReLU(0.2)
   -> Flatten -> Linear(6272, 1)                                            (N, 1) logits

Both libraries run the same step: z is drawn inside it, D sees real and fake in two passes,
the G step reuses the fake batch (no second G forward) and backpropagates through D, whose
gradients are computed and then dropped, as in the usual PyTorch DCGAN loop.

`CASES` follows benchmarks/harness.py: each factory(batch) returns a zero-argument step.
Run on its own, `python benchmarks/bench_dcgan.py [--steps 15] [--threads 2]` times the two
steps alternately (so both see the same machine load) and reports medians, the ratio and
each step's peak memory (measured in a fresh subprocess per library). The tinygan factory
calls tinygan.backend.keep_freed_memory() (glibc malloc keeps freed blocks for reuse);
TINYGAN_KEEP_FREED_MEMORY=0 measures without it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LR, BETAS, Z_DIM = 2e-4, (0.5, 0.999), 100


def _real_batch(batch: int) -> np.ndarray:
    """A fixed batch standing in for MNIST digits: values in [-1, 1] like tanh outputs (the
    step's cost does not depend on the pixel values)."""
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)


def tinygan_step(batch: int = 64):
    import tinygan as tg
    import tinygan.nn as nn
    from tinygan.gan import losses
    from tinygan.optim import Adam

    if os.environ.get("TINYGAN_KEEP_FREED_MEMORY", "1") != "0":
        # reuse freed blocks instead of page-faulting ~35 MB back in every step (~10% of the
        # step); process-wide, so a torch step in the same process benefits too
        tg.backend.keep_freed_memory()
    tg.manual_seed(0)
    G = nn.Sequential(
        nn.Linear(Z_DIM, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),     # (N, 128, 7, 7)
        nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),  # (N, 64, 14, 14)
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())                    # (N, 1, 28, 28)
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),                     # (N, 64, 14, 14)
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # (N, 128, 7, 7)
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))                          # (N, 1)
    opt_g, opt_d = Adam(G.parameters(), LR, BETAS), Adam(D.parameters(), LR, BETAS)
    real = tg.tensor(_real_batch(batch))

    def step():
        fake = G(tg.randn(batch, Z_DIM))
        opt_d.zero_grad()
        losses.d_minimax(D(real), D(fake.detach())).backward()
        opt_d.step()
        opt_g.zero_grad()
        losses.g_nonsaturating(D(fake)).backward()
        opt_g.step()
    return step


def torch_models():
    """(G, D) of the same DCGAN in PyTorch, with PyTorch's default initialisation."""
    from torch import nn

    G = nn.Sequential(
        nn.Linear(Z_DIM, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),
        nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return G, D


def torch_step(batch: int = 64):
    import torch
    from torch.nn.functional import softplus

    torch.manual_seed(0)
    G, D = torch_models()
    opt_g = torch.optim.Adam(G.parameters(), LR, BETAS)
    opt_d = torch.optim.Adam(D.parameters(), LR, BETAS)
    real = torch.from_numpy(_real_batch(batch))

    def step():
        fake = G(torch.randn(batch, Z_DIM))
        opt_d.zero_grad()
        (softplus(-D(real)).mean() + softplus(D(fake.detach())).mean()).backward()
        opt_d.step()
        opt_g.zero_grad()
        softplus(-D(fake)).mean().backward()
        opt_g.step()
    return step


def floor_products(batch: int):
    """(A, B) for every matrix product of one step, in the step's order: each convolution as
    its im2col product (forward x-patches @ W^T, input gradient gy @ W, weight gradient
    patches^T @ gy), each Linear as in bench_mlp_gan. The copies around them are not counted."""
    rng = np.random.default_rng(2)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def conv(pixels_out, k_in, c_out, input_grad=True):
        """A conv whose output has `pixels_out` positions, k_in = C*KH*KW: fwd, bwd pairs."""
        fwd = [(arr(pixels_out, k_in), arr(c_out, k_in).T)]
        bwd = [(arr(pixels_out, k_in).T, arr(pixels_out, c_out))]
        if input_grad:
            bwd.append((arr(pixels_out, c_out), arr(c_out, k_in)))
        return fwd, bwd

    n = batch
    # a transposed conv's forward is its conv's input gradient and vice versa: same products
    g_lin = ([(arr(n, Z_DIM), arr(6272, Z_DIM).T)], [(arr(n, 6272).T, arr(n, Z_DIM))])
    g_t1 = conv(n * 49, 64 * 16, 128)        # ConvT(128, 64): 14x14 <-> 7x7
    g_t2 = conv(n * 196, 1 * 16, 64)         # ConvT(64, 1): 28x28 <-> 14x14
    d_c1 = conv(n * 196, 1 * 16, 64, input_grad=False)
    d_c1g = conv(n * 196, 1 * 16, 64)        # in the G step D's input needs a gradient
    d_c2 = conv(n * 49, 64 * 16, 128)
    d_lin = ([(arr(n, 6272), arr(1, 6272).T)], [(arr(n, 1).T, arr(n, 6272)),
                                                (arr(n, 1), arr(1, 6272))])
    g_fwd = g_lin[0] + g_t1[1][1:] + g_t2[1][1:]          # G forward: Linear, ConvT, ConvT
    g_bwd = g_t2[0] + g_t2[1][:1] + g_t1[0] + g_t1[1][:1] + g_lin[1]

    def d_fwd(c1):
        return c1[0] + d_c2[0] + d_lin[0]

    def d_bwd(c1):
        return d_lin[1] + d_c2[1] + c1[1]

    return (g_fwd + d_fwd(d_c1) + d_fwd(d_c1) + d_bwd(d_c1) + d_bwd(d_c1)
            + d_fwd(d_c1g) + d_bwd(d_c1g) + g_bwd)


def floor_step(batch: int = 64):
    pairs = floor_products(batch)

    def step():
        for a, b in pairs:
            a @ b
    return step


def _torch_or_none():
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    return torch_step


CASES = [{"name": "DCGAN-MNIST step", "batch": 64, "tinygan": tinygan_step,
          "torch": _torch_or_none(), "floor": floor_step}]


# ---------------------------------------------------------------- standalone paired timing


def paired_times(steps: int, batch: int, threads: int, clock=time.perf_counter):
    """Median seconds per step of each library, alternating one tinygan and one torch step so
    that both see the same load on a shared machine. clock=time.process_time measures CPU time
    instead (robust on a busy machine with threads=1; with more threads it also counts the
    time BLAS and OpenMP threads spend spinning)."""
    import torch
    torch.set_num_threads(threads)
    ours, theirs = tinygan_step(batch), torch_step(batch)
    for _ in range(2):  # warm up caches, BLAS thread pools and Adam state
        ours()
        theirs()
    t_ours, t_theirs = [], []
    for _ in range(steps):
        t0 = clock()
        ours()
        t1 = clock()
        theirs()
        t2 = clock()
        t_ours.append(t1 - t0)
        t_theirs.append(t2 - t1)
    return float(np.median(t_ours)), float(np.median(t_theirs))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_memory(library: str, batch: int, threads: int, steps: int = 3) -> int:
    """Bytes the step adds to the process's peak resident memory (models and imports excluded),
    measured in a fresh interpreter so the two libraries never share an allocator."""
    code = (f"import sys, resource; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"import bench_dcgan as b, torch; torch.set_num_threads({threads}); "
            f"s = b.{library}_step({batch}); base = b._rss_bytes(); "
            f"[s() for _ in range({steps})]; "
            f"print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: process CPU time (use with --threads 1 on a busy machine)")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    ours, theirs = paired_times(args.steps, args.batch, args.threads, clock)
    result = {"case": "dcgan_mnist_step", "batch": args.batch, "threads": args.threads,
              "clock": args.clock,
              "tinygan_ms": round(ours * 1e3, 1), "torch_ms": round(theirs * 1e3, 1),
              "time_ratio": round(ours / theirs, 2)}
    if not args.no_memory:
        m_ours = peak_memory("tinygan", args.batch, args.threads)
        m_theirs = peak_memory("torch", args.batch, args.threads)
        result.update(tinygan_peak_mb=round(m_ours / 2**20, 1),
                      torch_peak_mb=round(m_theirs / 2**20, 1),
                      memory_ratio=round(m_ours / m_theirs, 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
