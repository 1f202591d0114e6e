"""Convolution in any number of spatial dimensions (1-D sequences, 2-D images, 3-D voxels) as
im2col + one matrix product, and the transposed convolution as its adjoint.

    conv(x, w)              im2col(x) @ w^T             (unfold patches, then one matmul)
    conv_transpose(y, w)    col2im(y @ w)               (one matmul, then fold patches back)

conv1d/conv2d/conv3d and their transposes are the same three Functions, for d = 1, 2, 3; each
is the others' derivative, so gradients of gradients work to any order (a gradient penalty
through a convolutional discriminator needs the second order):

    ConvNd(x, w):            dx = ConvTransposeNd(gy, w)     dw = ConvNdWeightGrad(x, gy)
    ConvTransposeNd(y, w):   dy = ConvNd(gz, w)              dw = ConvNdWeightGrad(gz, y)
    ConvNdWeightGrad(x, gy): dx = ConvTransposeNd(gy, G)     dgy = ConvNd(x, G)

Layout, chosen by profiling (in 2-D; d = 1 and 3 follow): the public tensors are channel-first
(N, C, *S), PyTorch's, but inside, patches are unfolded from a channel-last (N, *S, C) copy of
the padded input. Then one patch row, (*K, C), is made of runs of K_last*C contiguous numbers,
so the im2col copy moves long runs instead of 4-number scraps, and the matrix product is one
large (N*prod(OS), prod(K)*C) @ (prod(K)*C, O). Results are returned as channel-first *views*
of channel-last memory (no copy); NumPy's elementwise ops keep that layout, so the next
convolution finds its input already channel-last. col2im adds one shifted slice per (kernel
index along the leading axes, group of `stride` kernel columns along the last), each a run of
W*stride*C contiguous numbers per output row; no index repeats within a slice, so a plain +=
is exact and no scatter-add is needed. The batch goes through in chunks (CHUNK_BYTES) so that
no whole-batch im2col matrix is ever held: it would add ~13 MB to a DCGAN step's peak memory.
(Where the time of a DCGAN step goes: benchmarks/README.md.)
"""
from __future__ import annotations

import itertools
import math
import numbers

from . import backend
from .tensor import Function, Tensor, as_tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "avg_pool2d", "interpolate", "conv_output_size",
           "conv_transpose_output_size", "im2col", "col2im", "as_tuple", "as_pair"]

#: The input layout named in errors, per number of spatial dimensions.
LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


# ---------------------------------------------------------------- sizes and argument checks


def as_tuple(v, n: int, what: str, where: str, minimum: int) -> tuple:
    """An int or n ints -> n ints, each at least `minimum`; else a ValueError naming `where`
    (the function or layer) and `what` (the argument)."""
    many = (v,) * n if _is_int(v) else tuple(v) if isinstance(v, (tuple, list)) else ()
    if len(many) != n or not all(_is_int(i) for i in many) or min(many) < minimum:
        kind = {1: "one int", 2: "a pair of ints", 3: "a triple of ints"}.get(n, f"{n} ints")
        raise ValueError(f"{where}: {what} must be an int or {kind} >= {minimum}, got {v!r}")
    return tuple(int(i) for i in many)


def as_pair(v, what: str, where: str, minimum: int) -> tuple:
    """as_tuple with n = 2 (the 2-D layers' sizes)."""
    return as_tuple(v, 2, what, where, minimum)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Positions a kernel takes along one axis: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int,
                               output_padding: int = 0) -> int:
    """(size - 1) s - 2p + k + output_padding: the input size of the convolution it undoes."""
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def _leftover(size: int, out: int, kernel: int, stride: int, padding: int) -> int:
    """The output_padding that makes a transposed convolution of an `out`-sized input give back
    `size`: the rows the forward convolution's last stride skipped (always < stride)."""
    return size - conv_transpose_output_size(out, kernel, stride, padding)


# ---------------------------------------------------------------- raw-array helpers

#: Largest im2col matrix (or block of patch contributions) held at once, in bytes. The batch is
#: cut into chunks below it: the matrix products stay large enough for BLAS, the step's peak
#: memory does not grow by a whole-batch unfolding, and each chunk's matrix stays in cache.
CHUNK_BYTES = {"cpu": 4 * 2**20, "cuda": 256 * 2**20}  # other devices take the GPU's


def _batch_chunks(n: int, bytes_per_sample: int, array) -> list:
    """Slices that split n samples into equal chunks of at most CHUNK_BYTES (one sample at
    least)."""
    if n == 0:
        return []
    limit = CHUNK_BYTES.get(backend.device_of(array), CHUNK_BYTES["cuda"])
    count = min(n, max(1, -(-n * bytes_per_sample // limit)))
    size = -(-n // count)
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]



def _channel_last_padded(x, padding):
    """(N, C, *S) -> (N, *(S + 2p), C), C-contiguous: one copy that pads and transposes.
    An input that is already channel-last in memory and needs no padding is used as it is."""
    d = x.ndim - 2
    xh = x.transpose(0, *range(2, d + 2), 1)
    if not any(padding) and xh.flags.c_contiguous:
        return xh
    xp = backend.get_array_module(x)
    out = xp.zeros((xh.shape[0], *(s + 2 * p for s, p in zip(xh.shape[1:-1], padding)),
                    xh.shape[-1]), dtype=x.dtype)
    out[(slice(None), *(slice(p, p + s) for s, p in zip(xh.shape[1:-1], padding)))] = xh
    return out


def im2col(xh, kernel, stride):
    """Every K-sized patch of a channel-last (N, *Sp, C) array, as one contiguous
    (N, *OS, *K, C) array: a strided view (no copy) made contiguous (one copy)."""
    n, *padded, c = xh.shape
    out = [(s - k) // st + 1 for s, k, st in zip(padded, kernel, stride)]
    s_n, *s_sp, s_c = xh.strides
    patches = backend.as_strided(xh, (n, *out, *kernel, c),
                                 (s_n, *(s * st for s, st in zip(s_sp, stride)), *s_sp, s_c))
    return backend.get_array_module(xh).ascontiguousarray(patches)


def _weight_blocks(w, stride):
    """Transposed-convolution weight (Ci, Co, *K) -> (prod(K_lead)*KQ, Ci, sw*Co), KQ =
    ceil(K_last/sw), K_lead the kernel's other axes: kernel columns j = qj*sw + rj grouped so
    that each block's columns are (rj, co), the order in which they land side by side in a
    channel-last output row (zero columns pad K_last up to KQ*sw)."""
    ci, co, *kernel = w.shape
    d, kw, sw = len(kernel), kernel[-1], stride[-1]
    kq = -(-kw // sw)
    if kq * sw != kw:
        xp = backend.get_array_module(w)
        w = xp.concatenate([w, xp.zeros((ci, co, *kernel[:-1], kq * sw - kw), dtype=w.dtype)],
                           axis=-1)
    return (w.reshape(ci, co, *kernel[:-1], kq, sw)
            .transpose(*range(2, d + 2), 0, d + 2, 1)
            .reshape(math.prod(kernel[:-1]) * kq, ci, sw * co))


def _col2im_shape(image, kernel, stride, padding, out_size):
    """Shape (N, Q_0, s_0, ..., Q_{d-2}, s_{d-2}, WQ*sw*C) of col2im's uncropped accumulator:
    each leading axis seen as (Q, s), the last with its channels as (WQ, sw, C), large enough
    for every patch and for output_padding."""
    n, *size, c = image
    qs = [max(h + -(-k // s) - 1, -(-(p + o) // s))  # output_padding may reach past the
          for h, k, s, p, o in zip(size, kernel, stride, padding, out_size)]  # last patch
    return (n, *(v for q, s in zip(qs[:-1], stride[:-1]) for v in (q, s)),
            qs[-1] * stride[-1] * c)


def col2im(blocks, out):
    """The adjoint of im2col, the "fold" of a transposed convolution: adds blocks (*K_lead, KQ,
    N, *S, sw*C), the patch contribution of every input pixel (from _weight_blocks), into
    `out`, the accumulator of _col2im_shape, in place.

    Kernel index i = q*s + r along a leading axis of pixel h lands on output index (h + q)*s
    + r, and kernel column j = qj*sw + rj of pixel w on column (w + qj)*sw + rj; seen as
    (.., size/s, s, .., cols/sw, sw, C), the output takes one block per (i_lead, qj) as a plain
    shifted slice whose W*sw*C numbers per row are contiguous. Targets within one slice are
    distinct, so += is exact (no scatter-add)."""
    d = (blocks.ndim - 2) // 2
    lead, kq, n = blocks.shape[:d - 1], blocks.shape[d - 1], blocks.shape[d]
    size, run = blocks.shape[d + 1:-1], blocks.shape[-1]  # run = sw*C numbers per pixel
    strides, w = out.shape[2:-1:2], size[-1]
    for index in itertools.product(*map(range, lead)):
        rows = [slice(None)]
        for i, s, h in zip(index, strides, size):
            q, r = divmod(i, s)
            rows += [slice(q, q + h), r]
        for qj in range(kq):
            out[(*rows, slice(qj * run, (qj + w) * run))] += \
                blocks[(*index, qj)].reshape(n, *size[:-1], w * run)
    return out


def _rows(y):
    """(N, C, *S) -> (N*prod(S), C): one row per pixel (a view when y is channel-last)."""
    return y.transpose(0, *range(2, y.ndim), 1).reshape(-1, y.shape[1])


def _channel_first(y):
    """(N, *S, C) -> an (N, C, *S) view of the same memory."""
    return y.transpose(0, y.ndim - 1, *range(1, y.ndim - 1))


def _add_bias(y, b):
    if b is None:
        return y
    if y.dtype == b.dtype:
        y += b  # y is a fresh buffer we own: add in place
        return y
    return y + b


# ---------------------------------------------------------------- the three Functions


class ConvNd(Function):
    """y[n,o,i..] = b[o] + sum_{c,p..} w[o,c,p..] xpad[n,c,i*s+p..] (d spatial axes);
    dx = conv_transpose(gy, w), dw = ConvNdWeightGrad(x, gy), db = sum gy over n and space"""

    def __init__(self, stride=(1, 1), padding=(0, 0)):
        self.stride, self.padding = stride, padding

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x, w)
        (n, c), o, kernel = x.shape[:2], w.shape[0], w.shape[2:]
        xh = _channel_last_padded(x, self.padding)  # (N, *(S + 2p), C)
        out = tuple((s - k) // st + 1 for s, k, st in zip(xh.shape[1:-1], kernel, self.stride))
        wm_t = w.transpose(*range(2, w.ndim), 1, 0).reshape(-1, o)  # (prod(K)*C, O), patch order
        y = xp.empty((n, *out, o), dtype=xp.result_type(x.dtype, w.dtype))
        for part in _batch_chunks(n, math.prod(out) * wm_t.shape[0] * x.itemsize, x):
            cols = im2col(xh[part], kernel, self.stride)  # (n, *OS, *K, C)
            # the matrix product (N*prod(OS), prod(K)*C) @ (prod(K)*C, O), a chunk of rows at a time
            xp.matmul(cols.reshape(-1, wm_t.shape[0]), wm_t, out=y[part].reshape(-1, o))
        return _channel_first(_add_bias(y, b))  # a channel-first view of channel-last memory

    def backward(self, gy):
        x, w = self.inputs[:2]
        gx = None
        if self.needs[0]:
            extra = tuple(_leftover(x.shape[2 + a], gy.shape[2 + a], w.shape[2 + a],
                                    self.stride[a], self.padding[a]) for a in range(x.ndim - 2))
            gx = ConvTransposeNd(self.stride, self.padding, extra)(gy, w)
        return (gx, *_weight_and_bias_grads(self, x, gy, gy))


class ConvTransposeNd(Function):
    """z = b + col2im(y @ w): the adjoint of ConvNd in x, <conv(x,w), y> = <x, z - b>;
    dy = conv(gz, w), dw = ConvNdWeightGrad(gz, y), db = sum gz over n and space"""

    def __init__(self, stride=(1, 1), padding=(0, 0), output_padding=(0, 0)):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def forward(self, y, w, b=None):
        xp = backend.get_array_module(y, w)
        (n, _, *size), (co, *kernel) = y.shape, w.shape[1:]
        out_size = tuple(conv_transpose_output_size(*a) for a in zip(
            size, kernel, self.stride, self.padding, self.output_padding))
        wb = _weight_blocks(w, self.stride)  # (prod(K_lead)*KQ, Ci, sw*Co)
        out = xp.zeros(_col2im_shape((n, *size, co), kernel, self.stride, self.padding,
                                     out_size), dtype=xp.result_type(y.dtype, w.dtype))
        lead = tuple(kernel[:-1])
        for part in _batch_chunks(n, math.prod(size) * wb.shape[0] * wb.shape[2] * y.itemsize, y):
            # the matrix product (N*prod(S), Ci) @ (Ci, sw*Co) for every block, a chunk at a time
            blocks = _rows(y[part]) @ wb
            col2im(blocks.reshape(*lead, wb.shape[0] // math.prod(lead),
                                  part.stop - part.start, *size, self.stride[-1] * co),
                   out[part])
        # (N, Q_0*s_0, .., WQ*sw, Co), then the padding cropped away
        full = out.reshape(n, *(out.shape[1 + 2 * a] * out.shape[2 + 2 * a]
                                for a in range(len(size) - 1)), out.shape[-1] // co, co)
        z = full[(slice(None), *(slice(p, p + o) for p, o in zip(self.padding, out_size)))]
        return _channel_first(_add_bias(z, b))  # a channel-first view of channel-last memory

    def backward(self, gz):
        y, w = self.inputs[:2]
        gy = ConvNd(self.stride, self.padding)(gz, w) if self.needs[0] else None
        return (gy, *_weight_and_bias_grads(self, gz, y, gz))


def _weight_and_bias_grads(fn, x, g, g_out):
    """(dw, db) of a ConvNd or ConvTransposeNd Function `fn`: dw = ConvNdWeightGrad(x, g), x and
    g the input and output gradient of the (forward) convolution that shares the weight, and
    db = sum of g_out, the gradient of fn's own output, over N and the spatial axes"""
    kernel = fn.inputs[1].shape[2:]
    gw = ConvNdWeightGrad(kernel, fn.stride, fn.padding)(x, g) if fn.needs[1] else None
    gb = g_out.sum(axis=(0, *range(2, g_out.ndim))) \
        if len(fn.inputs) == 3 and fn.needs[2] else None
    return gw, gb


class ConvNdWeightGrad(Function):
    """gw[o,c,p..] = sum_{n,i..} gy[n,o,i..] xpad[n,c,i*s+p..] = gy^T @ im2col(x); bilinear,
    so d/dx = conv_transpose(gy, G) and d/dgy = conv(x, G) for a cotangent G"""

    def __init__(self, kernel, stride=(1, 1), padding=(0, 0)):
        self.kernel, self.stride, self.padding = tuple(kernel), stride, padding

    def forward(self, x, gy):
        xp = backend.get_array_module(x, gy)
        (n, c), o, d = x.shape[:2], gy.shape[1], len(self.kernel)
        xh = _channel_last_padded(x, self.padding)
        positions = tuple((s - k) // st + 1
                          for s, k, st in zip(xh.shape[1:-1], self.kernel, self.stride))
        if positions != gy.shape[2:]:
            raise ValueError(f"gradient of shape {gy.shape} does not match the {positions} "
                             f"positions of a {self.kernel} kernel")
        patch = math.prod(self.kernel) * c
        gw = xp.zeros((patch, o), dtype=xp.result_type(x.dtype, gy.dtype))
        for part in _batch_chunks(n, math.prod(positions) * patch * x.itemsize, x):
            cols = im2col(xh[part], self.kernel, self.stride)
            # (prod(K)*C, O) += cols^T @ gy-rows (faster in BLAS than gy^T @ cols)
            gw += cols.reshape(-1, patch).T @ _rows(gy[part])
        return xp.ascontiguousarray(gw.reshape(*self.kernel, c, o)
                                    .transpose(d + 1, d, *range(d)))

    def backward(self, gw):
        x, gy = self.inputs
        gx = ggy = None
        if self.needs[0]:
            extra = tuple(_leftover(x.shape[2 + a], gy.shape[2 + a], self.kernel[a],
                                    self.stride[a], self.padding[a])
                          for a in range(len(self.kernel)))
            gx = ConvTransposeNd(self.stride, self.padding, extra)(gy, gw)
        if self.needs[1]:
            ggy = ConvNd(self.stride, self.padding)(x, gw)
        return gx, ggy


# ---------------------------------------------------------------- the public functions


def _check_ndim(fn, name, t, d, layout):
    if t.ndim != d + 2:
        raise ValueError(f"{fn}: {name} must be {d + 2}-D {layout}, got shape {t.shape}")


def _check_bias(fn, b, channels):
    if b is not None and b.shape != (channels,):
        raise ValueError(f"{fn}: bias must have shape ({channels},), one per output channel, "
                         f"got {b.shape}")


_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_KERNEL = {1: "K", 2: "KH, KW", 3: "KD, KH, KW"}


def _conv(d, x, w, b, stride, padding) -> Tensor:
    """conv1d/2d/3d: check the arguments (errors name conv{d}d), then ConvNd."""
    name = f"conv{d}d"
    x = as_tensor(x)
    w, b = as_tensor(w, x), None if b is None else as_tensor(b, x)
    stride = as_tuple(stride, d, "stride", name, 1)
    padding = as_tuple(padding, d, "padding", name, 0)
    _check_ndim(name, "input", x, d, LAYOUTS[d])
    _check_ndim(name, "weight", w, d, f"(out_channels, in_channels, {_KERNEL[d]})")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{name}: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {w.shape} expects {w.shape[1]} (weight is (out, in, "
                         f"{_KERNEL[d]}))")
    _check_bias(name, b, w.shape[0])
    for a, axis in enumerate(_AXES[d]):
        if x.shape[2 + a] + 2 * padding[a] < w.shape[2 + a]:
            raise ValueError(
                f"{name}: kernel {tuple(w.shape[2:])} is larger than the padded input: input "
                f"{x.shape} with padding {padding} has {axis} {x.shape[2 + a] + 2 * padding[a]} "
                f"< {w.shape[2 + a]}")
    fn = ConvNd(stride, padding)
    return fn(x, w) if b is None else fn(x, w, b)


def _conv_transpose(d, x, w, b, stride, padding, output_padding) -> Tensor:
    """conv_transpose1d/2d/3d: check the arguments (errors name the function), then
    ConvTransposeNd."""
    name = f"conv_transpose{d}d"
    x = as_tensor(x)
    w, b = as_tensor(w, x), None if b is None else as_tensor(b, x)
    stride = as_tuple(stride, d, "stride", name, 1)
    padding = as_tuple(padding, d, "padding", name, 0)
    output_padding = as_tuple(output_padding, d, "output_padding", name, 0)
    _check_ndim(name, "input", x, d, LAYOUTS[d])
    _check_ndim(name, "weight", w, d, f"(in_channels, out_channels, {_KERNEL[d]})")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{name}: input of shape {x.shape} has {x.shape[1]} channels but "
                         f"weight of shape {w.shape} expects {w.shape[0]} (weight is "
                         f"(in, out, {_KERNEL[d]}))")
    _check_bias(name, b, w.shape[1])
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"{name}: output_padding {output_padding} must be smaller than stride "
                         f"{stride} (it only picks among the sizes one stride can produce)")
    size = tuple(conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a],
                                            padding[a], output_padding[a]) for a in range(d))
    if min(size) < 1:
        raise ValueError(f"{name}: padding {padding} is too large for input {x.shape} and "
                         f"kernel {tuple(w.shape[2:])}: the output would be {size}")
    fn = ConvTransposeNd(stride, padding, output_padding)
    return fn(x, w) if b is None else fn(x, w, b)


def conv1d(x, w, b=None, stride=1, padding=0) -> Tensor:
    """Cross-correlate x (N, C, L) with w (O, C, K), as torch.nn.functional.conv1d:
    output (N, O, (L + 2p - K) // s + 1)."""
    return _conv(1, x, w, b, stride, padding)


def conv2d(x, w, b=None, stride=1, padding=0) -> Tensor:
    """Cross-correlate x (N, C, H, W) with w (O, C, KH, KW), as torch.nn.functional.conv2d:
    output (N, O, (H + 2p - KH) // s + 1, (W + 2p - KW) // s + 1)."""
    return _conv(2, x, w, b, stride, padding)


def conv3d(x, w, b=None, stride=1, padding=0) -> Tensor:
    """Cross-correlate x (N, C, D, H, W) with w (O, C, KD, KH, KW), as
    torch.nn.functional.conv3d: output (N, O, (D + 2p - KD) // s + 1, ...)."""
    return _conv(3, x, w, b, stride, padding)


def conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0) -> Tensor:
    """The transposed convolution of x (N, Ci, L) with w (Ci, Co, K), as
    torch.nn.functional.conv_transpose1d: output (N, Co, (L-1)s - 2p + K + output_padding)."""
    return _conv_transpose(1, x, w, b, stride, padding, output_padding)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0) -> Tensor:
    """The transposed ("fractionally strided") convolution of x (N, Ci, H, W) with w
    (Ci, Co, KH, KW), as torch.nn.functional.conv_transpose2d: the adjoint of conv2d with the
    same weight; output (N, Co, (H-1)s - 2p + KH + output_padding, ...)."""
    return _conv_transpose(2, x, w, b, stride, padding, output_padding)


def conv_transpose3d(x, w, b=None, stride=1, padding=0, output_padding=0) -> Tensor:
    """The transposed convolution of x (N, Ci, D, H, W) with w (Ci, Co, KD, KH, KW), as
    torch.nn.functional.conv_transpose3d: output (N, Co, (D-1)s - 2p + KD + output_padding,
    ...)."""
    return _conv_transpose(3, x, w, b, stride, padding, output_padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over KxK windows (zeros padding counted, as PyTorch's default): a convolution of
    every channel on its own with a constant 1/(KH*KW) kernel."""
    x = as_tensor(x)
    kernel = as_pair(kernel_size, "kernel_size", "avg_pool2d", 1)
    stride = kernel if stride is None else as_pair(stride, "stride", "avg_pool2d", 1)
    padding = as_pair(padding, "padding", "avg_pool2d", 0)
    _check_ndim("avg_pool2d", "input", x, 2, LAYOUTS[2])
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"avg_pool2d: padding {padding} must be at most half the kernel {kernel}")
    n, c, h, w = x.shape
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        raise ValueError(f"avg_pool2d: kernel {kernel} is larger than the padded input {x.shape}"
                         f" with padding {padding}")
    xp = backend.get_array_module(x.data)
    ones = Tensor(xp.full((1, 1) + kernel, 1.0 / (kernel[0] * kernel[1]), dtype=x.dtype))
    y = ConvNd(stride, padding)(x.reshape(n * c, 1, h, w), ones)
    return y.reshape(n, c, *y.shape[2:])


def interpolate(x, scale_factor=2, mode: str = "nearest") -> Tensor:
    """Nearest-neighbour upsampling by whole factors: every pixel becomes an sh x sw block
    (a broadcast, so its gradient sums each block)."""
    x = as_tensor(x)
    if mode != "nearest":
        raise ValueError(f"interpolate: only mode='nearest' is implemented, got {mode!r}")
    sh, sw = as_pair(scale_factor, "scale_factor", "interpolate", 1)
    _check_ndim("interpolate", "input", x, 2, LAYOUTS[2])
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h, 1, w, 1).broadcast_to((n, c, h, sh, w, sw))
    return blocks.reshape(n, c, h * sh, w * sw)
