"""Calibration for the MNIST table: the same DCGAN recipe trained in PyTorch for the same CPU
budget, judged by the same classifier. It tells apart "tinygan is too slow" from "the recipe
does not reach the target in this budget".

    .venv/bin/python benchmarks/calibrate_torch_dcgan.py                   # 10 min, 1 thread
    .venv/bin/python benchmarks/calibrate_torch_dcgan.py --minutes 2 --seed 1

Identical to tinygan's DCGAN experiment where it matters: issue 4's architecture, weights
N(0, 0.02^2) and batch-norm scales N(1, 0.02^2), Adam (lr, betas and batch from the registry's
dcgan config), batch 64, the non-saturating loss from logits, one D step per G
step, the 8,500 training digits of the test split, and the evaluation on 5,000 samples of G in
eval mode (running batch-norm statistics) against the 1,500 held-out digits. Only training
steps are on the clock (this process's CPU time divided by --threads). Needs torch.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))  # bench_dcgan's models


def build(nn):
    """(G, D) of benchmarks/bench_dcgan.py (tinygan.gan.models.dcgan's architecture) in PyTorch,
    initialised as tinygan's: weights N(0, 0.02^2), batch-norm scales N(1, 0.02^2), biases 0."""
    from bench_dcgan import torch_models

    G, D = torch_models()
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=float, default=2.5, help="minutes between evaluations")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=str(REPO / "runs" / "mnist" / "torch_dcgan"),
                   help="path prefix: writes OUT_seed<k>.json")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    from torch import nn
    from torch.nn.functional import softplus

    from tinygan import experiments
    from tinygan.data.digits import load_digits
    from tinygan.gan.evaluator import Evaluator

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    recipe = experiments.get("dcgan").make_config()
    lr, batch = recipe.lr, recipe.batch_size
    G, D = build(nn)
    opt_g = torch.optim.Adam(G.parameters(), lr, betas=recipe.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr, betas=recipe.betas)
    digits = load_digits(args.data_dir, allow_synthetic=False)
    data = torch.from_numpy(np.ascontiguousarray(digits.images, dtype=np.float32))
    evaluator = Evaluator.for_mnist(args.data_dir)
    z_eval = np.random.default_rng(1234).standard_normal((5000, 100)).astype(np.float32)

    def evaluate():
        G.eval()
        with torch.no_grad():
            images = torch.cat([G(torch.from_numpy(z_eval[i:i + 500]))
                                for i in range(0, len(z_eval), 500)]).numpy()
        G.train()
        s = evaluator.evaluate(images)
        return {"classifier_score": s.classifier_score, "frechet_distance": s.frechet_distance,
                "label_kl": s.label_kl}

    budget, cpu, wall, steps, trajectory = args.minutes * 60, 0.0, 0.0, 0, []
    next_eval = args.eval_every * 60
    while cpu / args.threads < budget:
        c0, w0 = time.process_time(), time.perf_counter()
        real = data[torch.randint(0, len(data), (batch,))]
        with torch.no_grad():
            fake = G(torch.randn(batch, 100))
        loss_d = softplus(-D(real)).mean() + softplus(D(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = softplus(-D(G(torch.randn(batch, 100)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        steps += 1
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        if cpu / args.threads >= next_eval and cpu / args.threads < budget:
            trajectory.append({"steps": steps, "cpu_seconds": cpu, **evaluate()})
            print(json.dumps(trajectory[-1]), flush=True)
            next_eval += args.eval_every * 60
    result = {"framework": f"torch {torch.__version__}", "model": "dcgan", "seed": args.seed,
              "threads": args.threads, "budget_minutes": args.minutes, "steps": steps,
              "cpu_seconds": cpu, "wall_seconds": wall, "lr": lr, "batch_size": batch,
              **evaluate(), "trajectory": trajectory}
    out = Path(f"{args.out}_seed{args.seed}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, out)
    print(json.dumps({k: v for k, v in result.items() if k != "trajectory"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
