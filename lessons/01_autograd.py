# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 — Autograd: from the chain rule to Hessian-vector products
#
# **Running it.** Fast mode: `TINYGAN_FAST=1 jupyter lab` (or set it before opening the
# notebook). This lesson trains nothing, so fast and full mode are the same: about 5 seconds on a
# 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. differentiate a small scalar function by hand with the chain rule and check it against tinygan;
# 2. explain what the computation graph is, and why a gradient flowing into a broadcast input
#    must be *summed* back to that input's shape;
# 3. check any gradient with central finite differences, and choose the step size sensibly;
# 4. write a differentiable operation of your own (a `Function`), check it, and differentiate it
#    twice;
# 5. differentiate a gradient again (`create_graph=True`) to get a Hessian-vector product — the
#    tool behind gradient penalties, unrolled GANs and the game-dynamics lessons.
#
# **Prerequisites.** Derivatives and the chain rule; NumPy arrays and broadcasting.
#
# **Reading along.** The whole engine is `tinygan/tensor.py` (Tensor, Function, `grad`) and
# `tinygan/ops.py`. Every primitive has a one-line docstring with its derivative.

# %%
import numpy as np
import matplotlib.pyplot as plt

import tinygan as tg
from tinygan.testing import gradcheck, gradgradcheck
from tinygan.viz import is_fast, save_figure

FAST = is_fast()
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. The chain rule, by hand
#
# Take $f(x) = \tanh(w x + b)$. Write $u = w x + b$ and $f = \tanh u$. The chain rule gives
#
# $$\frac{\partial f}{\partial x} = \frac{\partial f}{\partial u}\,\frac{\partial u}{\partial x}
#   = (1 - \tanh^2 u)\, w, \qquad \frac{\partial f}{\partial w} = (1 - \tanh^2 u)\, x,
#   \qquad \frac{\partial f}{\partial b} = 1 - \tanh^2 u .$$
#
# Reverse-mode autodiff does exactly this, starting from the output: it multiplies the incoming
# gradient ($\partial f/\partial f = 1$) by each step's local derivative on the way back.

# %%
x0, w0, b0 = 0.7, -1.3, 0.4
u = w0 * x0 + b0
by_hand = {"x": (1 - np.tanh(u) ** 2) * w0, "w": (1 - np.tanh(u) ** 2) * x0, "b": 1 - np.tanh(u) ** 2}

x = tg.tensor(x0, requires_grad=True, dtype=tg.float64)
w = tg.tensor(w0, requires_grad=True, dtype=tg.float64)
b = tg.tensor(b0, requires_grad=True, dtype=tg.float64)
f = (w * x + b).tanh()
f.backward()
for name, t in [("x", x), ("w", w), ("b", b)]:
    print(f"df/d{name}: by hand {by_hand[name]:+.6f}   tinygan {t.grad.item():+.6f}")
    assert np.isclose(by_hand[name], t.grad.item())

# %% [markdown]
# ## 2. The graph behind it
#
# Each operation returns a new tensor whose `creator` is the `Function` that made it; the
# Function remembers its inputs. Walking `creator` links from `f` back to the leaves shows the
# graph that `backward()` traverses in reverse.

# %%
def describe(t, depth=0):
    name = type(t.creator).__name__ if t.creator else ("leaf" if t.requires_grad else "constant")
    print("  " * depth + f"{name}  shape={t.shape}")
    if t.creator:
        for parent in t.creator.inputs:
            describe(parent, depth + 1)

describe(f)

# %% [markdown]
# ## 3. Tensors and broadcasting: gradients are summed back
#
# With arrays, `x + b` may *broadcast*: a bias `b` of shape `(4,)` is added to every row of an
# `(3, 4)` matrix. Each copy of `b` receives a gradient, and the chain rule adds the
# contributions of all copies. So the gradient with respect to `b` is the incoming gradient
# **summed over the broadcast axis** — back to `b`'s own shape. tinygan's backward rules end with
# `sum_to(grad, input.shape)` for exactly this reason.

# %%
rng = np.random.default_rng(0)
X = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
bias = tg.tensor(rng.standard_normal(4), requires_grad=True)
col = tg.tensor(rng.standard_normal((3, 1)), requires_grad=True)
out = ((X + bias) * col).tanh()
upstream = rng.standard_normal(out.shape)   # any gradient arriving from later layers
out.backward(tg.tensor(upstream))

local = upstream * (1 - out.numpy() ** 2)    # gradient at (X + bias) * col
print("d/dbias shape:", bias.grad.shape, " d/dcol shape:", col.grad.shape)
assert np.allclose(bias.grad.numpy(), (local * col.numpy()).sum(axis=0))           # summed over rows
assert np.allclose(col.grad.numpy(), (local * (X.numpy() + bias.numpy())).sum(axis=1, keepdims=True))
print("broadcast gradients match the hand-summed ones")

# %% [markdown]
# ## 4. Checking a gradient by finite differences
#
# A derivative is a limit, so we can estimate it numerically. The **central difference**
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}$$
#
# has error $O(\varepsilon^2)$ from truncating the Taylor series, plus a rounding error of
# about $\text{machine-}\epsilon \cdot |f| / \varepsilon$ that *grows* as $\varepsilon$ shrinks.
# Let's write it from scratch and watch both effects.

# %%
def central_difference(fn, x, eps):
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        grad.flat[i] = (fn(x + step) - fn(x - step)) / (2 * eps)
    return grad

def f_np(v):
    return float(np.sum(np.tanh(v) ** 3 + v * np.exp(-v * v)))

def f_tg(v):
    return ((v.tanh() ** 3) + v * (-(v * v)).exp()).sum()

point = rng.standard_normal(5)
v = tg.tensor(point, requires_grad=True)
f_tg(v).backward()
exact = v.grad.numpy()

epsilons = np.logspace(-13, -1, 25)
errors = {}
for dtype in (np.float64, np.float32):
    errors[dtype.__name__] = [
        np.abs(central_difference(lambda z: f_np(z.astype(dtype)), point.astype(dtype), dtype(e))
               - exact).max() for e in epsilons]

fig, ax = plt.subplots(figsize=(6, 4))
for name, errs in errors.items():
    ax.loglog(epsilons, errs, "o-", ms=3, label=name)
ax.set_xlabel("step size ε")
ax.set_ylabel("max |finite difference − autograd|")
ax.set_title("Central differences: truncation (right) vs rounding (left)")
ax.legend()
save_figure(fig, "01_finite_difference_error.png")
best = epsilons[int(np.argmin(errors["float64"]))]
print(f"float64: best ε ≈ {best:.1e}, error {min(errors['float64']):.1e}")
assert min(errors["float64"]) < 1e-8

# %% [markdown]
# The V shape is why gradient checks run in **float64** with ε around $10^{-6}$: in float32 the
# best achievable error is about a million times larger (around $10^{-5}$ here, and only at a
# large ε where the truncation error is already visible) — too coarse to catch a subtle bug.
# `tinygan.testing.gradcheck` does this for any function of tensors, against a random
# "upstream" gradient, and names the worst entry when something is wrong.

# %%
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
print(gradcheck(lambda a, b: (a @ b).tanh(), A, B))

# %% [markdown]
# ## 5. Build it yourself: a Function of your own
#
# Every operation in tinygan is a `Function` with two methods: `forward` takes raw arrays and
# returns one array; `backward` takes the gradient arriving at the output, $\partial L/\partial y$,
# as a **Tensor**, and returns $\partial L/\partial x$ for each input. Because backward is written
# with Tensor operations rather than raw arrays, the engine can differentiate *it* as well.
#
# Write the SiLU (or "swish") activation, $y = x\,\sigma(x)$, whose derivative is
# $y' = \sigma(x)\,\big(1 + x\,(1 - \sigma(x))\big)$. `self.inputs` holds the input tensors
# (the engine stores them before backward runs). Then check it three ways: against the same
# function composed from library ops, with `gradcheck` (first derivative) and with
# `gradgradcheck` (second derivative).

# %%
class SiLU(tg.Function):
    """y = x * sigmoid(x); dy/dx = s (1 + x (1 - s)) with s = sigmoid(x)"""
    def forward(self, x):
        return x / (1 + np.exp(-x))          # raw NumPy arrays in and out
    def backward(self, gy):
        x, = self.inputs                     # a Tensor: backward uses Tensor ops only
        s = x.sigmoid()
        return (gy * s * (1 + x * (1 - s)),)

def silu(x):
    return SiLU()(x)

z = rng.uniform(-3, 3, size=(4, 3))          # float64 throughout: gradcheck needs it
zt = tg.tensor(z, requires_grad=True)
assert np.allclose(silu(zt).numpy(), (zt * zt.sigmoid()).numpy())    # forward agrees
print("first derivative: ", gradcheck(silu, z))
print("second derivative:", gradgradcheck(silu, z))

# the second derivative itself, taken with create_graph=True and checked against calculus:
# y'' = s (1 - s) (2 + x (1 - 2 s))
zt = tg.tensor(z, requires_grad=True)
dy, = tg.grad(silu(zt).sum(), [zt], create_graph=True)
d2y, = tg.grad(dy.sum(), [zt])
s = 1 / (1 + np.exp(-z))
assert np.allclose(d2y.numpy(), s * (1 - s) * (2 + z * (1 - 2 * s)))
print("SiLU'' from the engine matches the closed form")

# %% [markdown]
# Had `backward` computed its factor from the raw array `self.inputs[0].data` and wrapped the
# result in a new tensor, `gradcheck` would still pass, but `gradgradcheck` would fail (try it):
# to the engine that factor is a constant with no graph behind it, so the second derivative
# loses the terms that come from differentiating $\sigma(x)$ again. (The library has no `SiLU`
# of its own; this one lives in the lesson.)
#
# ## 6. Gradients of gradients: a Hessian-vector product
#
# Every backward rule in tinygan is itself written with tensor operations. With
# `create_graph=True`, the gradient comes back as a tensor *with its own graph*, so it can be
# differentiated again. For a scalar $f$ and a vector $v$,
#
# $$\nabla_x \big( \nabla_x f(x) \cdot v \big) = H(x)\, v ,$$
#
# the Hessian-vector product, at the cost of about two gradient evaluations — without ever
# forming $H$. Check it on $f(x) = \tfrac12 x^\top Q x + \sum_i x_i^3$, whose Hessian is
# $Q + \operatorname{diag}(6x)$ for symmetric $Q$.

# %%
n = 4
Q = rng.standard_normal((n, n)); Q = Q + Q.T
x_np = rng.standard_normal(n)
v_np = rng.standard_normal(n)

x = tg.tensor(x_np, requires_grad=True)
Qt = tg.tensor(Q)
f = 0.5 * (x @ Qt @ x) + (x ** 3).sum()
g, = tg.grad(f, [x], create_graph=True)          # g = Qx + 3x^2, still attached to the graph
hvp, = tg.grad((g * tg.tensor(v_np)).sum(), [x])  # d/dx (g . v) = H v

H = Q + np.diag(6 * x_np)
print("H v by autograd:", hvp.numpy().round(5))
print("H v by formula :", (H @ v_np).round(5))
assert np.allclose(hvp.numpy(), H @ v_np)
assert x.grad is None   # tg.grad leaves .grad alone; only backward() accumulates there

# %% [markdown]
# `gradgradcheck` checks second derivatives the same way `gradcheck` checks first ones. This is
# the property that makes gradient penalties (WGAN-GP, R1) and unrolled GANs possible later on.

# %%
print(gradgradcheck(lambda a, b: (a @ b).tanh().sum(axis=1), A, B))

# %% [markdown]
# ## Summary
#
# - Reverse mode applies the chain rule from the output back, multiplying by local derivatives.
# - A broadcast input receives the **sum** of the gradients of all its copies.
# - Central differences check gradients; use float64 and ε ≈ 1e-6 (truncation vs rounding).
# - A new operation is a `Function`: forward on arrays, backward in Tensor ops, so it can be
#   differentiated twice; `gradcheck` and `gradgradcheck` confirm both orders.
# - Because backward rules are tensor operations, `create_graph=True` makes gradients
#   differentiable: Hessian-vector products cost two backward passes.
#
# ## Exercises
#
# 1. Derive by hand the gradient of `sigmoid(w * x + b)` and check it with tinygan.
# 2. `x` has shape `(5, 1)`, `y` has shape `(1, 3)`: what is the gradient of `(x * y).sum()`
#    with respect to `x`? Predict it, then check.
# 3. Take one Newton step $x \leftarrow x - H^{-1} g$ on `f(x) = sum(x**4) - sum(x**2)` in
#    three dimensions, using only what section 6 showed: build $H$ one column at a time as the
#    Hessian-vector products $H e_1, H e_2, H e_3$, solve $H d = -g$ with `np.linalg.solve`,
#    and check $H$ against the closed form $\operatorname{diag}(12x^2 - 2)$. (For large $x$,
#    forming $H$ is too costly, and the conjugate-gradient method solves $Hd = -g$ from
#    Hessian-vector products alone; that method is beyond this lesson.)
# 4. Write `Softsign`, $y = x / (1 + |x|)$, as a `Function` like `SiLU` above, and check it with
#    `gradcheck` and `gradgradcheck` at points away from 0 (why away from 0?).
# 5. Read `Sigmoid` in `tinygan/tensor.py`. In float32, `1 / (1 + np.exp(-x))` at `x = -1000`
#    returns 0.0, which is the right answer to float32 precision, but with an overflow warning:
#    why? Now compute the naive derivative `np.exp(-x) / (1 + np.exp(-x))**2` there: what comes
#    out and why? How do the library's forward (`exp(-|x|)`) and backward ($y(1-y)$, from the
#    saved output) avoid both problems?
