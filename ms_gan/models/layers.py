"""Layers the MindSpore twins need where MindSpore's own differs from PyTorch's, or is
slow on CPU. Each computes the same math as the MindSpore layer it replaces and keeps its
parameter names; docs/bench_ops.md has the per-op timings behind every backward here.

Each custom backward (`bprop`) sits on a parameterless `Kernel` that the layer calls: a
bprop returns gradients of a cell's inputs only (so the weights go in as inputs), and
MindSpore 2.8 calls no forward or backward hooks of a cell that has one (so the layer
itself stays a plain cell that the parity tools can watch). parity.layers treats a layer
and its kernel as one layer.
"""
import mindspore as ms
import numpy as np
from mindspore import nn, ops


class Tanh(nn.Cell):
    """tanh to float32 precision, in place of nn.Tanh.

    MindSpore 2.8.0's CPU tanh (nn.Tanh, ops.tanh, mint.tanh) is an approximation: measured
    |error| up to 1.0e-4 near |x| = 5 and outputs up to 1.0000098, outside [-1, 1]; PyTorch's
    is within 3e-8. expm1(2x) / (expm1(2x) + 2) is within 1.5e-7 (gradient 2.8e-7); the clamp
    keeps expm1 finite (tanh(10) rounds to 1 in float32)."""

    def construct(self, x):
        e = ops.expm1(2.0 * ops.clamp(x, -10.0, 10.0))
        return e / (e + 2.0)


class Kernel(nn.Cell):
    """A parameterless cell holding one layer's computation and its own backward (bprop)."""


class Conv2dStride1Kernel(Kernel):
    """conv(x, weight), stride 1, symmetric zero padding, with a faster CPU backward
    (MindSpore 2.8.0's Conv2DBackpropInput and Conv2DBackpropFilter run at a fraction of
    its forward Conv2D's speed on CPU: docs/bench_ops.md).

    Input gradient: a stride-1 convolution is its own adjoint up to a flip: dx is dout
    convolved with the weights flipped in space, in/out channels swapped, padded by
    kernel - 1 - padding.

    Weight gradient: dW[o, c, i, j] = sum over n, q of x[n, c, q] * dout[n, o, q + padding - (i, j)].
    A grouped convolution with one-hot kernels lays out every shift of dout at once,
    (N, O * k * k, H, W); one batched matmul with x and a sum over the batch finish it."""

    def __init__(self, in_channels, out_channels, kernel_size, padding):
        super().__init__()
        if not 0 <= padding < kernel_size:
            raise ValueError(f"padding must be 0 to kernel_size - 1 = {kernel_size - 1}, not {padding}")
        self.conv = ops.Conv2D(out_channels, kernel_size, pad_mode="pad", pad=padding)
        full = kernel_size - 1 - padding
        self.input_grad_conv = ops.Conv2D(in_channels, kernel_size, pad_mode="pad", pad=full)
        taps = kernel_size * kernel_size
        self.shift_conv = ops.Conv2D(out_channels * taps, kernel_size, pad_mode="pad", pad=full, group=out_channels)
        one_hot = np.zeros((out_channels, taps, 1, kernel_size, kernel_size), np.float32)
        for tap in range(taps):
            i, j = divmod(tap, kernel_size)
            one_hot[:, tap, 0, kernel_size - 1 - i, kernel_size - 1 - j] = 1.0
        self.shifts = ms.Tensor(one_hot.reshape(out_channels * taps, 1, kernel_size, kernel_size))
        self.reversed_taps = ms.Tensor(np.eye(taps, dtype=np.float32)[::-1].copy())
        self.batch_matmul_t = ops.BatchMatMul(transpose_b=True)

    def flipped(self, weight):
        """weight (A, B, k, k) flipped in space, as a MatMul with the reversing permutation
        of the k*k taps (exact: one product by 1 per element): MindSpore's CPU ReverseV2 is
        slower than the convolution it feeds for small layers (docs/bench_ops.md)."""
        a, b, k, _ = weight.shape
        return ops.matmul(weight.reshape(a * b, k * k), self.reversed_taps).reshape(a, b, k, k)

    def construct(self, x, weight):
        return self.conv(x, weight)

    def bprop(self, x, weight, out, dout):
        n, c, h, w = x.shape
        o, _, k, _ = weight.shape
        flipped = self.flipped(weight).transpose(1, 0, 2, 3)
        shifted = self.shift_conv(dout, self.shifts).reshape(n, o * k * k, h * w)
        per_image = self.batch_matmul_t(x.reshape(n, c, h * w), shifted)              # (N, C, O*k*k)
        grad_weight = per_image.sum(0).reshape(c, o, k, k).transpose(1, 0, 2, 3)
        return self.input_grad_conv(dout, flipped), grad_weight


class Conv2d(nn.Conv2d):
    """nn.Conv2d for stride 1 and symmetric padding (`pad_mode="pad"`), with the faster
    backward of Conv2dStride1Kernel; the same parameters (`weight`, `bias`)."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0, has_bias=True):
        super().__init__(in_channels, out_channels, kernel_size, 1, pad_mode="pad", padding=padding,
                         has_bias=has_bias)
        self.kernel = Conv2dStride1Kernel(in_channels, out_channels, kernel_size, padding)

    def construct(self, x):
        out = self.kernel(x, self.weight)
        return ops.bias_add(out, self.bias) if self.has_bias else out


class Conv2dTranspose(nn.Conv2dTranspose):
    """nn.Conv2dTranspose for stride 1 (`pad_mode="pad"`), the same parameters (`weight` of
    shape (in, out, k, k), `bias`), computed as the stride-1 convolution it equals: the
    weights flipped in space, in/out swapped, padded by kernel - 1 - padding. So it runs on
    MindSpore's forward Conv2D and Conv2dStride1Kernel's backward instead of the slower CPU
    Conv2DBackpropInput (docs/bench_ops.md)."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0, has_bias=False):
        super().__init__(in_channels, out_channels, kernel_size, 1, pad_mode="pad", padding=padding,
                         has_bias=has_bias)
        self.kernel = Conv2dStride1Kernel(in_channels, out_channels, kernel_size, kernel_size - 1 - padding)

    def construct(self, x):
        out = self.kernel(x, self.kernel.flipped(self.weight).transpose(1, 0, 2, 3))
        return ops.bias_add(out, self.bias) if self.has_bias else out


class LeakyReLUKernel(Kernel):
    """MindSpore's leaky_relu, with the backward PyTorch computes: dout where x > 0 and
    alpha * dout elsewhere. MindSpore differentiates its maximum(alpha * x, x)
    into a chain of comparisons and selects, 5-10x PyTorch's time on CPU (docs/bench_ops.md)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def construct(self, x):
        return ops.leaky_relu(x, self.alpha)

    def bprop(self, x, out, dout):
        # the slope as arithmetic on the mask, 1 or alpha exactly: 0.6x the time of a Select
        return (dout * ((x > 0).astype(dout.dtype) * (1.0 - self.alpha) + self.alpha),)


class LeakyReLU(nn.LeakyReLU):
    """nn.LeakyReLU through LeakyReLUKernel."""

    def __init__(self, alpha=0.2):
        super().__init__(alpha)
        self.kernel = LeakyReLUKernel(alpha)

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == "alpha" and "kernel" in self._cells:     # a slope set later reaches the kernel too
            self.kernel.alpha = value

    def construct(self, x):
        return self.kernel(x)


class UpsampleKernel(Kernel):
    """Nearest-neighbour upsampling by 2, (N, C, H, W) -> (N, C, 2H, 2W), with the backward
    as one MatMul: MindSpore 2.8.0's CPU ResizeNearestNeighborV2Grad is several times
    PyTorch's (docs/bench_ops.md). The gradient of an input pixel is the sum of its 2x2
    output block: each pair of output rows laid side by side, (N*C*H, 4W), times a 0/1
    matrix (4W, W) that adds the four entries of each block. (The forward stays MindSpore's:
    as a reshape and broadcast it was 25% slower in PyNative inference.)"""

    def construct(self, x):
        # MindSpore 2.8's interpolate refuses a scale_factor for 4-D nearest unless it may
        # recompute it from the size; the result is PyTorch's nearest x2.
        return ops.interpolate(x, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)

    def bprop(self, x, out, dout):
        n, c, h, w = x.shape
        columns = ops.repeat_interleave(ops.eye(w, w, dout.dtype), 2, 0)      # (2W, W): column j -> j // 2
        block_sum = ops.concat((columns, columns), 0)                            # (4W, W): both rows of a pair
        return (ops.matmul(dout.reshape(n * c * h, 4 * w), block_sum).reshape(n, c, h, w),)


class Upsample(nn.Cell):
    """PyTorch's nn.Upsample(scale_factor=2) (nearest), through UpsampleKernel."""

    def __init__(self):
        super().__init__()
        self.kernel = UpsampleKernel()

    def construct(self, x):
        return self.kernel(x)
