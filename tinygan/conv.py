"""2-D convolution as im2col + one matrix product, and the transposed convolution as its adjoint.

    conv2d(x, w)            im2col(x) @ w^T             (unfold patches, then one matmul)
    conv_transpose2d(y, w)  col2im(y @ w)               (one matmul, then fold patches back)

The three Functions below are each other's derivatives, so gradients of gradients work to any
order (a gradient penalty through a convolutional discriminator needs the second order):

    Conv2d(x, w):            dx = ConvTranspose2d(gy, w)     dw = Conv2dWeightGrad(x, gy)
    ConvTranspose2d(y, w):   dy = Conv2d(gz, w)              dw = Conv2dWeightGrad(gz, y)
    Conv2dWeightGrad(x, gy): dx = ConvTranspose2d(gy, G)     dgy = Conv2d(x, G)

Layout, chosen by profiling: the public tensors are NCHW (PyTorch's), but inside, patches are
unfolded from a channel-last (N, H, W, C) copy of the padded input. Then one patch row,
(KH, KW, C), is made of KH contiguous runs of KW*C numbers, so the im2col copy moves long runs
instead of 4-number scraps, and the matrix product is one large (N*OH*OW, KH*KW*C) @
(KH*KW*C, O). Results are returned as NCHW *views* of channel-last memory (no copy); NumPy's
elementwise ops keep that layout, so the next convolution finds its input already channel-last.
col2im adds one shifted slice per (kernel row, group of `stride` kernel columns), each a run of
W*stride*C contiguous numbers per output row; no index repeats within a slice, so a plain +=
is exact and no scatter-add is needed. The batch goes through in chunks (CHUNK_BYTES) so that
no whole-batch im2col matrix is ever held: it would add ~13 MB to a DCGAN step's peak memory.
(Where the time of a DCGAN step goes: benchmarks/README.md.)
"""
from __future__ import annotations

import numbers

from . import backend
from .tensor import Function, Tensor, as_tensor

__all__ = ["conv2d", "conv_transpose2d", "avg_pool2d", "interpolate", "conv_output_size",
           "conv_transpose_output_size", "im2col", "col2im", "as_pair"]


# ---------------------------------------------------------------- sizes and argument checks


def as_pair(v, what: str, where: str, minimum: int) -> tuple:
    """An int or a pair of ints -> a pair, each at least `minimum`; else a ValueError naming
    `where` (the function or layer) and `what` (the argument)."""
    pair = (v, v) if _is_int(v) else tuple(v) if isinstance(v, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(i) for i in pair) or min(pair) < minimum:
        raise ValueError(f"{where}: {what} must be an int or a pair of ints >= {minimum}, "
                         f"got {v!r}")
    return tuple(int(i) for i in pair)


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
    """(N, C, H, W) -> (N, H+2p, W+2p, C), C-contiguous: one copy that pads and transposes.
    An input that is already channel-last in memory and needs no padding is used as it is."""
    ph, pw = padding
    xh = x.transpose(0, 2, 3, 1)
    if ph == pw == 0 and xh.flags.c_contiguous:
        return xh
    xp = backend.get_array_module(x)
    n, h, w, c = xh.shape
    out = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    out[:, ph:ph + h, pw:pw + w, :] = xh
    return out


def im2col(xh, kernel, stride):
    """Every KHxKW patch of a channel-last (N, Hp, Wp, C) array, as one contiguous
    (N, OH, OW, KH, KW, C) array: a strided view (no copy) made contiguous (one copy)."""
    (kh, kw), (sh, sw) = kernel, stride
    n, hp, wp, c = xh.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    s_n, s_h, s_w, s_c = xh.strides
    patches = backend.as_strided(xh, (n, oh, ow, kh, kw, c),
                                 (s_n, s_h * sh, s_w * sw, s_h, s_w, s_c))
    return backend.get_array_module(xh).ascontiguousarray(patches)


def _weight_blocks(w, stride):
    """Transposed-convolution weight (Ci, Co, KH, KW) -> (KH*KQ, Ci, sw*Co), KQ = ceil(KW/sw):
    kernel columns j = qj*sw + rj grouped so that each block's columns are (rj, co), the order
    in which they land side by side in a channel-last output row (zero columns pad KW up to
    KQ*sw)."""
    ci, co, kh, kw = w.shape
    sw = stride[1]
    kq = -(-kw // sw)
    if kq * sw != kw:
        xp = backend.get_array_module(w)
        w = xp.concatenate([w, xp.zeros((ci, co, kh, kq * sw - kw), dtype=w.dtype)], axis=3)
    return w.reshape(ci, co, kh, kq, sw).transpose(2, 3, 0, 4, 1).reshape(kh * kq, ci, sw * co)


def _col2im_shape(image, kernel, stride, padding, out_size):
    """Shape (N, HQ, sh, WQ*sw*C) of col2im's uncropped accumulator: rows seen as (HQ, sh),
    columns as (WQ, sw, C), large enough for every patch and for output_padding."""
    (n, h, w, c), (kh, kw), (sh, sw), (ph, pw), (oh, ow) = image, kernel, stride, padding, out_size
    hq = max(h + -(-kh // sh) - 1, -(-(ph + oh) // sh))  # output_padding may reach past
    wq = max(w + -(-kw // sw) - 1, -(-(pw + ow) // sw))   # the last patch
    return n, hq, sh, wq * sw * c


def col2im(blocks, out):
    """The adjoint of im2col, the "fold" of a transposed convolution: adds blocks (KH, KQ, N, H,
    W, sw*C), the patch contribution of every input pixel (from _weight_blocks), into `out`,
    the (N, HQ, sh, WQ*sw*C) accumulator of _col2im_shape, in place.

    Kernel row i = q*sh + r of pixel h lands on output row (h + q)*sh + r, and kernel column
    j = qj*sw + rj of pixel w on column (w + qj)*sw + rj; seen as (rows/sh, sh, cols/sw, sw, C),
    the output takes one block per (i, qj) as a plain shifted slice whose W*sw*C numbers per row
    are contiguous. Targets within one slice are distinct, so += is exact (no scatter-add)."""
    kh, kq, n, h, w, run = blocks.shape  # run = sw*C numbers per input pixel and output row
    sh = out.shape[2]
    for i in range(kh):
        q, r = divmod(i, sh)
        for qj in range(kq):
            out[:, q:q + h, r, qj * run:(qj + w) * run] += blocks[i, qj].reshape(n, h, w * run)
    return out


def _rows(y):
    """(N, C, H, W) -> (N*H*W, C): one row per pixel (a view when y is channel-last)."""
    return y.transpose(0, 2, 3, 1).reshape(-1, y.shape[1])


def _add_bias(y, b):
    if b is None:
        return y
    if y.dtype == b.dtype:
        y += b  # y is a fresh buffer we own: add in place
        return y
    return y + b


# ---------------------------------------------------------------- the three Functions


class Conv2d(Function):
    """y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] xpad[n,c,i*s+p,j*s+q];
    dx = conv_transpose2d(gy, w), dw = Conv2dWeightGrad(x, gy), db = sum gy over n,i,j"""

    def __init__(self, stride=(1, 1), padding=(0, 0)):
        self.stride, self.padding = stride, padding

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x, w)
        (n, c), (o, _, kh, kw) = x.shape[:2], w.shape
        xh = _channel_last_padded(x, self.padding)  # (N, H+2p, W+2p, C)
        oh, ow = (xh.shape[1] - kh) // self.stride[0] + 1, (xh.shape[2] - kw) // self.stride[1] + 1
        wm_t = w.transpose(2, 3, 1, 0).reshape(-1, o)  # (KH*KW*C, O), the patch order
        y = xp.empty((n, oh, ow, o), dtype=xp.result_type(x.dtype, w.dtype))
        for part in _batch_chunks(n, oh * ow * kh * kw * c * x.itemsize, x):
            cols = im2col(xh[part], (kh, kw), self.stride)  # (n, OH, OW, KH, KW, C)
            # the matrix product (N*OH*OW, KH*KW*C) @ (KH*KW*C, O), a chunk of rows at a time
            xp.matmul(cols.reshape(-1, wm_t.shape[0]), wm_t, out=y[part].reshape(-1, o))
        y = _add_bias(y, b)
        return y.transpose(0, 3, 1, 2)  # an NCHW view of channel-last memory

    def backward(self, gy):
        x, w = self.inputs[:2]
        gx = None
        if self.needs[0]:
            extra = tuple(_leftover(x.shape[2 + a], gy.shape[2 + a], w.shape[2 + a],
                                    self.stride[a], self.padding[a]) for a in (0, 1))
            gx = ConvTranspose2d(self.stride, self.padding, extra)(gy, w)
        return (gx, *_weight_and_bias_grads(self, x, gy, gy))


class ConvTranspose2d(Function):
    """z = b + col2im(y @ w): the adjoint of Conv2d in x, <conv2d(x,w), y> = <x, z - b>;
    dy = conv2d(gz, w), dw = Conv2dWeightGrad(gz, y), db = sum gz over n,i,j"""

    def __init__(self, stride=(1, 1), padding=(0, 0), output_padding=(0, 0)):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def forward(self, y, w, b=None):
        xp = backend.get_array_module(y, w)
        n, _, h, wd = y.shape
        co, kh, kw = w.shape[1:]
        (sh, sw), (ph, pw) = self.stride, self.padding
        oh, ow = (conv_transpose_output_size(s, k, st, p, op) for s, k, st, p, op in
                  zip((h, wd), (kh, kw), self.stride, self.padding, self.output_padding))
        wb = _weight_blocks(w, self.stride)  # (KH*KQ, Ci, sw*Co)
        out = xp.zeros(_col2im_shape((n, h, wd, co), (kh, kw), self.stride, self.padding,
                                     (oh, ow)), dtype=xp.result_type(y.dtype, w.dtype))
        for part in _batch_chunks(n, h * wd * wb.shape[0] * wb.shape[2] * y.itemsize, y):
            # the matrix product (N*H*W, Ci) @ (Ci, sw*Co) for every block, a chunk at a time
            blocks = _rows(y[part]) @ wb
            col2im(blocks.reshape(kh, wb.shape[0] // kh, part.stop - part.start, h, wd, sw * co),
                   out[part])
        z = out.reshape(n, out.shape[1] * sh, out.shape[3] // co, co)[:, ph:ph + oh, pw:pw + ow]
        z = _add_bias(z, b)
        return z.transpose(0, 3, 1, 2)  # an NCHW view of channel-last memory

    def backward(self, gz):
        y, w = self.inputs[:2]
        gy = Conv2d(self.stride, self.padding)(gz, w) if self.needs[0] else None
        return (gy, *_weight_and_bias_grads(self, gz, y, gz))


def _weight_and_bias_grads(fn, x, g, g_out):
    """(dw, db) of a Conv2d or ConvTranspose2d Function `fn`: dw = Conv2dWeightGrad(x, g), x and
    g the input and output gradient of the (forward) convolution that shares the weight, and
    db = sum of g_out, the gradient of fn's own output, over (N, H, W)"""
    kernel = fn.inputs[1].shape[2:]
    gw = Conv2dWeightGrad(kernel, fn.stride, fn.padding)(x, g) if fn.needs[1] else None
    gb = g_out.sum(axis=(0, 2, 3)) if len(fn.inputs) == 3 and fn.needs[2] else None
    return gw, gb


class Conv2dWeightGrad(Function):
    """gw[o,c,p,q] = sum_{n,i,j} gy[n,o,i,j] xpad[n,c,i*s+p,j*s+q] = gy^T @ im2col(x); bilinear,
    so d/dx = conv_transpose2d(gy, G) and d/dgy = conv2d(x, G) for a cotangent G"""

    def __init__(self, kernel, stride=(1, 1), padding=(0, 0)):
        self.kernel, self.stride, self.padding = tuple(kernel), stride, padding

    def forward(self, x, gy):
        xp = backend.get_array_module(x, gy)
        (n, c), o, (kh, kw) = x.shape[:2], gy.shape[1], self.kernel
        xh = _channel_last_padded(x, self.padding)
        positions = ((xh.shape[1] - kh) // self.stride[0] + 1,
                     (xh.shape[2] - kw) // self.stride[1] + 1)
        if positions != gy.shape[2:]:
            raise ValueError(f"gradient of shape {gy.shape} does not match the {positions} "
                             f"positions of a {self.kernel} kernel")
        gw = xp.zeros((kh * kw * c, o), dtype=xp.result_type(x.dtype, gy.dtype))
        for part in _batch_chunks(n, positions[0] * positions[1] * kh * kw * c * x.itemsize, x):
            cols = im2col(xh[part], self.kernel, self.stride)
            # (KH*KW*C, O) += cols^T @ gy-rows (faster in BLAS than gy^T @ cols)
            gw += cols.reshape(-1, kh * kw * c).T @ _rows(gy[part])
        return xp.ascontiguousarray(gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))

    def backward(self, gw):
        x, gy = self.inputs
        gx = ggy = None
        if self.needs[0]:
            extra = tuple(_leftover(x.shape[2 + a], gy.shape[2 + a], self.kernel[a],
                                    self.stride[a], self.padding[a]) for a in (0, 1))
            gx = ConvTranspose2d(self.stride, self.padding, extra)(gy, gw)
        if self.needs[1]:
            ggy = Conv2d(self.stride, self.padding)(x, gw)
        return gx, ggy


# ---------------------------------------------------------------- the public functions


def _check_4d(fn, name, t, layout):
    if t.ndim != 4:
        raise ValueError(f"{fn}: {name} must be 4-D {layout}, got shape {t.shape}")


def _check_bias(fn, b, channels):
    if b is not None and b.shape != (channels,):
        raise ValueError(f"{fn}: bias must have shape ({channels},), one per output channel, "
                         f"got {b.shape}")


def conv2d(x, w, b=None, stride=1, padding=0) -> Tensor:
    """Cross-correlate x (N, C, H, W) with w (O, C, KH, KW), as torch.nn.functional.conv2d:
    output (N, O, (H + 2p - KH) // s + 1, (W + 2p - KW) // s + 1)."""
    x = as_tensor(x)
    w, b = as_tensor(w, x), None if b is None else as_tensor(b, x)
    stride = as_pair(stride, "stride", "conv2d", 1)
    padding = as_pair(padding, "padding", "conv2d", 0)
    _check_4d("conv2d", "input", x, "(N, C, H, W)")
    _check_4d("conv2d", "weight", w, "(out_channels, in_channels, KH, KW)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {w.shape} expects {w.shape[1]} (weight is (out, in, KH, KW))")
    _check_bias("conv2d", b, w.shape[0])
    for a, axis in ((0, "height"), (1, "width")):
        if x.shape[2 + a] + 2 * padding[a] < w.shape[2 + a]:
            raise ValueError(
                f"conv2d: kernel {tuple(w.shape[2:])} is larger than the padded input: input "
                f"{x.shape} with padding {padding} has {axis} {x.shape[2 + a] + 2 * padding[a]} "
                f"< {w.shape[2 + a]}")
    fn = Conv2d(stride, padding)
    return fn(x, w) if b is None else fn(x, w, b)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0) -> Tensor:
    """The transposed ("fractionally strided") convolution of x (N, Ci, H, W) with w
    (Ci, Co, KH, KW), as torch.nn.functional.conv_transpose2d: the adjoint of conv2d with the
    same weight; output (N, Co, (H-1)s - 2p + KH + output_padding, ...)."""
    x = as_tensor(x)
    w, b = as_tensor(w, x), None if b is None else as_tensor(b, x)
    fn_name = "conv_transpose2d"
    stride = as_pair(stride, "stride", fn_name, 1)
    padding = as_pair(padding, "padding", fn_name, 0)
    output_padding = as_pair(output_padding, "output_padding", fn_name, 0)
    _check_4d(fn_name, "input", x, "(N, C, H, W)")
    _check_4d(fn_name, "weight", w, "(in_channels, out_channels, KH, KW)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{fn_name}: input of shape {x.shape} has {x.shape[1]} channels but "
                         f"weight of shape {w.shape} expects {w.shape[0]} (weight is "
                         "(in, out, KH, KW))")
    _check_bias(fn_name, b, w.shape[1])
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"{fn_name}: output_padding {output_padding} must be smaller than stride "
                         f"{stride} (it only picks among the sizes one stride can produce)")
    size = tuple(conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a],
                                            padding[a], output_padding[a]) for a in (0, 1))
    if min(size) < 1:
        raise ValueError(f"{fn_name}: padding {padding} is too large for input {x.shape} and "
                         f"kernel {tuple(w.shape[2:])}: the output would be {size}")
    fn = ConvTranspose2d(stride, padding, output_padding)
    return fn(x, w) if b is None else fn(x, w, b)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over KxK windows (zeros padding counted, as PyTorch's default): a convolution of
    every channel on its own with a constant 1/(KH*KW) kernel."""
    x = as_tensor(x)
    kernel = as_pair(kernel_size, "kernel_size", "avg_pool2d", 1)
    stride = kernel if stride is None else as_pair(stride, "stride", "avg_pool2d", 1)
    padding = as_pair(padding, "padding", "avg_pool2d", 0)
    _check_4d("avg_pool2d", "input", x, "(N, C, H, W)")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"avg_pool2d: padding {padding} must be at most half the kernel {kernel}")
    n, c, h, w = x.shape
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        raise ValueError(f"avg_pool2d: kernel {kernel} is larger than the padded input {x.shape}"
                         f" with padding {padding}")
    xp = backend.get_array_module(x.data)
    ones = Tensor(xp.full((1, 1) + kernel, 1.0 / (kernel[0] * kernel[1]), dtype=x.dtype))
    y = Conv2d(stride, padding)(x.reshape(n * c, 1, h, w), ones)
    return y.reshape(n, c, *y.shape[2:])


def interpolate(x, scale_factor=2, mode: str = "nearest") -> Tensor:
    """Nearest-neighbour upsampling by whole factors: every pixel becomes an sh x sw block
    (a broadcast, so its gradient sums each block)."""
    x = as_tensor(x)
    if mode != "nearest":
        raise ValueError(f"interpolate: only mode='nearest' is implemented, got {mode!r}")
    sh, sw = as_pair(scale_factor, "scale_factor", "interpolate", 1)
    _check_4d("interpolate", "input", x, "(N, C, H, W)")
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h, 1, w, 1).broadcast_to((n, c, h, sh, w, sw))
    return blocks.reshape(n, c, h * sh, w * sw)
