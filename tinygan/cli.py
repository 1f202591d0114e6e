"""The `tinygan` command. Until the 1D toy demo lands, `tinygan demo` shows the autograd engine."""
from __future__ import annotations

import argparse
import logging
import sys


def _demo_autograd() -> int:
    import numpy as np

    import tinygan as tg
    from tinygan.testing import gradcheck

    x = tg.tensor([[0.5, -1.0, 2.0]], requires_grad=True, dtype=np.float64)
    w = tg.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True, dtype=np.float64)
    y = (x @ w).tanh().sum()
    gx, = tg.grad(y, [x], create_graph=True)
    hvp, = tg.grad(gx, [x], grad_outputs=tg.ones_like(x))
    print(f"y = sum(tanh(x @ w)) = {y.item():.6f}")
    print(f"dy/dx = {gx.numpy().round(6).tolist()}")
    print(f"Hessian-vector product H @ 1 = {hvp.numpy().round(6).tolist()}")
    ok = gradcheck(lambda a, b: (a @ b).tanh(), x.data, w.data)
    print(f"gradcheck against finite differences: {'passed' if ok else 'failed'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tinygan", description="GANs from scratch, for learning.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the main demo")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "demo":
        return _demo_autograd()
    return 2


if __name__ == "__main__":
    sys.exit(main())
