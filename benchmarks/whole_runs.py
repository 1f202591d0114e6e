"""Whole training runs, the ones users start (`tinygan train toy1d`, `ring`, `mnist-mlp
--steps 2000`), against the same runs written in PyTorch: paired in one process, alternating.

    .venv/bin/python benchmarks/whole_runs.py                 # 3 pairs per run, ~10 minutes
    .venv/bin/python benchmarks/whole_runs.py --pairs 1 --only toy1d

What is timed is training (Trainer.fit over the run's steps): Algorithm 1 with the
experiment's data sampling, k discriminator steps, the generator step with D frozen, the
learning-rate decay, the EMA of G's weights and the history record (losses, D's mean
probabilities, G's gradient norm) — everything a step of the run does. The PyTorch run is that
loop as a PyTorch user writes it, on torch tensors, its networks built layer for layer from the
experiment's and starting from the same weights. Writing the run's files (plots, GIF,
checkpoints) is not timed: it costs both frameworks the same.

Small tensors are where per-operation overhead decides: the 1D toy's networks have 32 units,
the ring's 128, the digit MLP's 500. Writes results/whole_runs.json.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

RUNS = {"toy1d": {}, "ring": {}, "mnist-mlp": {"steps": 2000}}


# ---------------------------------------------------------------- the networks, in PyTorch


def to_torch(module):
    """A torch.nn module computing what the tinygan module computes (the layer types the three
    experiments use), with its weights."""
    import torch
    from torch import nn as tnn

    import tinygan.nn as nn
    from tinygan.gan import models

    class Lambda(tnn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class MinibatchStd(tnn.Module):
        def forward(self, x):  # as models.MinibatchStd: biased variance over the batch
            s = (x.var(dim=0, unbiased=False, keepdim=True) + 1e-8).sqrt().mean(1, keepdim=True)
            return torch.cat([x, s.expand(x.shape[0], 1)], dim=1)

    def convert(m):
        if isinstance(m, nn.Sequential):
            return tnn.Sequential(*(convert(c) for c in m))
        if isinstance(m, nn.Linear):
            layer = tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        elif isinstance(m, nn.BatchNorm1d):
            layer = tnn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum)
        elif isinstance(m, nn.ReLU):
            return tnn.ReLU()
        elif isinstance(m, nn.LeakyReLU):
            return tnn.LeakyReLU(m.slope) if m.slope else tnn.ReLU()
        elif isinstance(m, nn.Tanh):
            return tnn.Tanh()
        elif isinstance(m, nn.Dropout):
            return tnn.Dropout(m.p)
        elif isinstance(m, nn.Unflatten):
            return tnn.Unflatten(m.axis, m.shape)
        elif isinstance(m, nn.Identity):
            return tnn.Identity()
        elif isinstance(m, models.Scale):
            return tnn.Identity() if m.factor == 1.0 else Lambda(lambda x, f=m.factor: x * f)
        elif isinstance(m, models.Standardize):
            return Lambda(lambda x, a=m.mean, b=m.std: (x - a) / b)
        elif isinstance(m, models.MinibatchStd):
            return MinibatchStd()
        elif isinstance(m, models.MLPGenerator):
            return convert(m.net)
        elif isinstance(m, models.MLPDiscriminator):
            return tnn.Sequential(tnn.Flatten(), convert(m.net))
        elif isinstance(m, models.ToyDiscriminator) and m.minibatch is None:
            return tnn.Sequential(convert(m.input_scale), convert(m.body),
                                  tnn.LeakyReLU(0.2), convert(m.head))
        else:
            raise TypeError(f"to_torch: no PyTorch counterpart written for {type(m).__name__}")
        layer.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in m.state_dict().items()})
        return layer

    return convert(module)


# ---------------------------------------------------------------- the run, in PyTorch


def torch_run(exp, steps: int):
    """A zero-argument function training the PyTorch copy of `exp` for `steps` iterations."""
    import torch
    from torch.nn.functional import softplus

    t, c = exp.trainer, exp.config
    G, D = to_torch(t.G), to_torch(t.D)
    betas = tuple(c.betas)
    lr_g, lr_d = t.base_lrs
    opt_g = torch.optim.Adam(G.parameters(), lr_g, betas)
    opt_d = torch.optim.Adam(D.parameters(), lr_d, betas)
    m, k, log_every = t.m, t.k, t.log_every
    decay = next((h for h in t.hooks if type(h).__name__ == "LinearDecay"), None)
    ema_hook = next((h for h in t.hooks if type(h).__name__ == "EMA"), None)
    sample_data, sample_noise = _torch_sampler(exp)
    torch.manual_seed(c.seed)

    def run():
        ema = copy.deepcopy(G).eval().requires_grad_(False) if ema_hook else None
        sums, history, updates = {}, [], 0

        def add(key, value):
            sums[key] = value if key not in sums else sums[key] + value

        G.train()
        D.train()
        for it in range(steps):
            if decay is not None:
                f = 1.0 - (1.0 - decay.final) * min(it / decay.total, 1.0)
                for opt, lr in ((opt_g, lr_g), (opt_d, lr_d)):
                    for group in opt.param_groups:
                        group["lr"] = lr * f
            for _ in range(k):
                real = sample_data(m)
                with torch.no_grad():
                    fake = G(sample_noise(m))
                real_logits, fake_logits = D(real), D(fake)
                loss = softplus(-real_logits).mean() + softplus(fake_logits).mean()
                opt_d.zero_grad()
                loss.backward()
                opt_d.step()
                add("d_loss", loss.detach() / k)
                add("d_real", torch.sigmoid(real_logits.detach()).mean() / k)
                add("d_fake", torch.sigmoid(fake_logits.detach()).mean() / k)
            D.requires_grad_(False)  # D frozen in the G step, as tinygan's trainer does
            g_loss = softplus(-D(G(sample_noise(m)))).mean()
            opt_g.zero_grad()
            g_loss.backward()
            D.requires_grad_(True)
            opt_g.step()
            add("g_loss", g_loss.detach())
            add("g_grad_norm", torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters())))
            if (it + 1) % log_every == 0:
                history.append({key: v.item() / log_every for key, v in sums.items()})
                sums = {}
            if ema is not None:
                d = min(ema_hook.decay, (1 + updates) / (10 + updates))
                with torch.no_grad():
                    for avg, p in zip(ema.parameters(), G.parameters()):
                        avg.mul_(d).add_(p, alpha=1 - d)
                    for avg, b in zip(ema.buffers(), G.buffers()):
                        avg.copy_(b)
                updates += 1
        return history

    return run


def _torch_sampler(exp):
    """(data(m), noise(m)) for the experiment, drawn with torch's generator."""
    import torch

    name, c = exp.name, exp.config
    if name == "toy1d":
        mean, std = c.data_mean, c.data_std
        lo, hi = c.noise_low, c.noise_high
        return (lambda m: mean + std * torch.randn(m, 1),
                lambda m: lo + (hi - lo) * torch.rand(m, 1))
    if name in ("ring", "grid"):
        dist = exp.parts["distribution"]
        means = torch.tensor(dist.means, dtype=torch.float32)
        stds = torch.tensor(dist.stds, dtype=torch.float32)[:, None]

        def data(m):
            k = torch.randint(len(means), (m,))
            return means[k] + stds[k] * torch.randn(m, 2)
        return data, (lambda m: torch.randn(m, c.noise_dim))
    if name == "mnist-mlp":
        images = torch.from_numpy(exp.parts["digits"].images.astype("float32"))
        z_dim = exp.generator.z_dim
        return (lambda m: images[torch.randint(len(images), (m,))],
                lambda m: torch.randn(m, z_dim))
    raise ValueError(f"no PyTorch sampler written for {name!r}")


# ---------------------------------------------------------------- timing


def clocks(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=3, help="tinygan/PyTorch pairs per run")
    p.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(HERE / "results" / "whole_runs.json"))
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    import harness
    os.environ.update(harness.thread_env(args.threads))
    threads = harness.set_threads(args.threads)
    from tinygan import experiments

    results = {"date": datetime.date.today().isoformat(), "threads": threads,
               "machine": harness.machine_info(threads), "runs": {}}
    for name in args.only:
        rows = []
        for pair in range(args.pairs):
            exp = experiments.build(name, seed=pair, **RUNS[name])
            steps = exp.config.steps
            train = torch_run(exp, steps)
            order = [("tinygan", lambda: exp.trainer.fit(steps)), ("torch", train)]
            if pair % 2:  # alternate which goes first
                order.reverse()
            row = {}
            for fw, fn in order:
                wall, cpu = clocks(fn)
                row[fw] = {"wall_s": wall, "cpu_s": cpu}
            rows.append(row)
            print(f"{name:10s} pair {pair}: tinygan {row['tinygan']['cpu_s']:6.1f} CPU s, "
                  f"PyTorch {row['torch']['cpu_s']:6.1f} CPU s "
                  f"({row['tinygan']['cpu_s'] / row['torch']['cpu_s']:.2f}x)", flush=True)
        ratio = {kind: statistics.median(r["tinygan"][kind] / r["torch"][kind] for r in rows)
                 for kind in ("wall_s", "cpu_s")}
        results["runs"][name] = {"steps": steps, "pairs": rows, "ratio": ratio}
        print(f"{name:10s} {steps} steps: tinygan / PyTorch = {ratio['wall_s']:.2f}x wall "
              f"({ratio['cpu_s']:.2f}x CPU), median of {len(rows)} pairs", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from tinygan.io import write_atomically
    write_atomically(out, json.dumps(results, indent=1).encode())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
