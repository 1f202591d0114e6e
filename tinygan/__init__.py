"""tinygan: a GAN library written from scratch on NumPy (CPU) and CuPy (GPU), small enough to
read end to end. `import tinygan as tg`; layers in tinygan.nn, activations and losses in
tinygan.functional, gradient checks in tinygan.testing."""
from numpy import float32, float64  # noqa: F401  (tg.float32 reads like torch.float32)

from .backend import cuda_available, default_device
from .io import load, save
from .creation import (full, generator, manual_seed, ones, ones_like, rand, randn, tensor,
                       truncated_normal, zeros, zeros_like)
from .functional import clip, minimum, stack
from .ops import concatenate, maximum, pad, where
from .tensor import (Function, Tensor, abs, broadcast_to, enable_grad, exp, grad, is_grad_enabled,
                     leaky_relu, log, matmul, max, mean, min, no_grad, relu, reshape, sigmoid,
                     softplus, sqrt, sum, sum_to, tanh, transpose)

__version__ = "0.1.0"
