"""Layers the MindSpore twins need where MindSpore's own differs from PyTorch's, or is
slow on CPU. Each computes the same math as the MindSpore layer it replaces and keeps its
parameter names; docs/bench_ops.md has the per-op timings behind every backward here. The
convolutions, Dense layers, BatchNorm (training and eval mode) and the elementwise layers
run on the project's native kernels where ms_gan.native builds them (docs/native.md).

Each custom backward (`bprop`) sits on a parameterless `Kernel` that the layer calls: a
bprop returns gradients of a cell's inputs only (so the weights go in as inputs), and
MindSpore 2.8 calls no forward or backward hooks of a cell that has one (so the layer
itself stays a plain cell that the parity tools can watch). parity.layers treats a layer
and its kernel as one layer.
"""
import mindspore as ms
import numpy as np
from mindspore import nn, ops
from mindspore.ops import signature

from ms_gan import native


def expm1_tanh(x):
    """tanh to float32 precision from MindSpore's own ops: MindSpore 2.8.0's CPU tanh
    (nn.Tanh, ops.tanh, mint.tanh) is an approximation, measured |error| up to 1.0e-4 near
    |x| = 5 and outputs up to 1.0000098, outside [-1, 1]; PyTorch's is within 3e-8.
    expm1(2x) / (expm1(2x) + 2) is within 1.5e-7 (gradient 2.8e-7); the clamp keeps expm1
    finite (tanh(10) rounds to 1 in float32)."""
    e = ops.expm1(2.0 * ops.clamp(x, -10.0, 10.0))
    return e / (e + 2.0)


class Kernel(nn.Cell):
    """A parameterless cell holding one layer's computation and its own backward (bprop)."""


class TanhKernel(Kernel):
    """tanh as one native pass (ms_gan/native/elementwise.cpp: computed in double, rounded
    once: within float32 rounding of tanh, as PyTorch's), and PyTorch's backward
    dout * (1 - y * y) (1 - y * y fused, its bits), one pass: expm1_tanh is five MindSpore kernels forward and about
    eight backward, 0.7-0.85 ms of gan's 6 ms train step (docs/bench_ops.md#tanh)."""

    def __init__(self, library):
        super().__init__()
        self.forward = ops.Custom(f"{library}:ms_gan_tanh", out_shape=lambda x: x, out_dtype=_same_dtype,
                                  func_type="aot")
        self.backward = ops.Custom(f"{library}:ms_gan_tanh_backward", out_shape=lambda dy, y: dy,
                                   out_dtype=_same_dtype, func_type="aot")

    def construct(self, x):
        return self.forward(x)

    def bprop(self, x, out, dout):
        return (self.backward(dout, out),)


class Tanh(nn.Cell):
    """tanh to float32 precision, in place of nn.Tanh (MindSpore's CPU tanh is not: see
    expm1_tanh): TanhKernel where ms_gan.native has built its kernels, else expm1_tanh."""

    def __init__(self):
        super().__init__()
        library = native.library()
        self.kernel = TanhKernel(library) if library is not None else None

    def construct(self, x):
        if self.kernel is None:
            return expm1_tanh(x)
        return self.kernel(x)


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


def _padding(pad_mode, padding):
    """(top, bottom, left, right) of nn.Conv2d's pad_mode and padding ("pad" or "valid")."""
    if pad_mode == "valid":
        return (0, 0, 0, 0)
    if pad_mode != "pad":
        raise ValueError(f"pad_mode must be 'pad' or 'valid', not {pad_mode!r}")
    return (padding,) * 4 if isinstance(padding, int) else tuple(padding)


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv_output_size(size, kernel, stride, before, after):
    return (size + before + after - kernel) // stride + 1


def _same_dtype(first, *rest):
    return first


def _conv_config(weight_shape, stride, padding):
    """The native kernels' int64 geometry tensor (ms_gan/native/convolution.cpp)."""
    (sh, sw), (top, bottom, left, right), (kh, kw) = stride, padding, weight_shape[2:]
    return ms.Tensor(np.array([sh, sw, top, left, bottom, right, kh, kw], np.int64))


def _kept_shape(x):
    """The shape of the buffer a native forward keeps its input's blocked copy in (oneDNN's
    aBcd16b: channels padded to 16); (1,) where x has under 16 channels, which oneDNN reads
    unblocked. The C++ uses it only where the copy fits (ms_gan/native/convolution.cpp)."""
    n, c, h, w = x
    return (n * -(-c // 16) * 16 * h * w,) if c >= 16 else (1,)


class NativeConv2dKernel(Kernel):
    """conv(x, weight) and both its gradients as native oneDNN kernels (ms_gan/native,
    docs/native.md): ms_gan.native.library() built them. The forward returns (y, kept): kept
    is its input's blocked copy, which the backward reads instead of reordering x again.
    `forward`, `backward_data` and `backward_weights` are the three directions one at a time
    (what parity bench-convs times)."""

    FORWARD = "ms_gan_conv_forward"
    BACKWARD = "ms_gan_conv_backward"

    def __init__(self, library, weight_shape, stride, padding):
        super().__init__()
        (sh, sw), (top, bottom, left, right), (kh, kw) = stride, padding, weight_shape[2:]
        weight_shape = tuple(weight_shape)
        self.config = _conv_config(weight_shape, stride, padding)

        def forward_shape(x, w, *rest):
            return (x[0], w[0], _conv_output_size(x[2], kh, sh, top, bottom),
                    _conv_output_size(x[3], kw, sw, left, right))

        self.forward_keep = ops.Custom(f"{library}:{self.FORWARD}_keep",
                                       out_shape=lambda x, *rest: (forward_shape(x, *rest), _kept_shape(x)),
                                       out_dtype=lambda x, *rest: (x, x), func_type="aot")
        gradients = self.gradient_shapes(weight_shape)
        self.backward = ops.Custom(f"{library}:{self.BACKWARD}",
                                   out_shape=lambda dy, w, x, kept, config: (x, *gradients),
                                   out_dtype=lambda dy, *rest: (dy,) * (1 + len(gradients)), func_type="aot")
        self.forward = ops.Custom(f"{library}:{self.FORWARD}", out_shape=forward_shape, out_dtype=_same_dtype,
                                  func_type="aot")
        self.backward_data = ops.Custom(f"{library}:ms_gan_conv_backward_data",
                                        out_shape=lambda dy, w, x, config: x, out_dtype=_same_dtype, func_type="aot")
        self.backward_weights = self.weight_gradient(library, weight_shape)

    def gradient_shapes(self, weight_shape):
        return (weight_shape,)

    def weight_gradient(self, library, weight_shape):
        return ops.Custom(f"{library}:ms_gan_conv_backward_weights", out_shape=lambda x, dy, config: weight_shape,
                          out_dtype=_same_dtype, func_type="aot")

    def construct(self, x, weight):
        return self.forward_keep(x, weight, self.config)

    def bprop(self, x, weight, out, dout):
        return self.backward(dout[0], weight, x, out[1], self.config)


class NativeConv2dBiasKernel(NativeConv2dKernel):
    """conv(x, weight) + bias in one native kernel, and the bias gradient with the others:
    MindSpore's BiasAdd and BiasAddGrad are separate kernels, each several times an
    elementwise op on CPU."""

    FORWARD = "ms_gan_conv_forward_bias"
    BACKWARD = "ms_gan_conv_backward_bias"

    def gradient_shapes(self, weight_shape):
        return (weight_shape, weight_shape[:1])

    def weight_gradient(self, library, weight_shape):
        return ops.Custom(f"{library}:ms_gan_conv_backward_weights_bias",
                          out_shape=lambda x, dy, config: (weight_shape, weight_shape[:1]),
                          out_dtype=lambda x, dy, config: (x, x), func_type="aot")

    def construct(self, x, weight, bias):
        return self.forward_keep(x, weight, bias, self.config)

    def bprop(self, x, weight, bias, out, dout):
        return self.backward(dout[0], weight, x, out[1], self.config)


class NativeConv2dTransposeKernel(Kernel):
    """The transposed convolution of weight (in, out, k, k) as native oneDNN kernels: it is
    the data gradient of the convolution out -> in with the same weight, so its forward is
    that convolution's backward-data kernel, its input gradient that convolution's forward,
    and its weight gradient that convolution's weight gradient with x and dout swapped. The
    forward returns (y, kept), as NativeConv2dKernel's."""

    def __init__(self, library, weight_shape, stride, padding):
        super().__init__()
        (sh, sw), (top, bottom, left, right), (kh, kw) = stride, padding, weight_shape[2:]
        self.config = _conv_config(weight_shape, stride, padding)

        def transposed_shape(x, w, config):
            return (x[0], w[1], (x[2] - 1) * sh - top - bottom + kh, (x[3] - 1) * sw - left - right + kw)

        self.forward_keep = ops.Custom(f"{library}:ms_gan_conv_transpose_forward_keep",
                                       out_shape=lambda x, w, config: (transposed_shape(x, w, config), _kept_shape(x)),
                                       out_dtype=lambda x, w, config: (x, x), func_type="aot")
        self.backward = ops.Custom(f"{library}:ms_gan_conv_transpose_backward",
                                   out_shape=lambda dy, w, x, kept, config: (x, w),
                                   out_dtype=lambda dy, *rest: (dy, dy), func_type="aot")

    def construct(self, x, weight):
        return self.forward_keep(x, weight, self.config)

    def bprop(self, x, weight, out, dout):
        return self.backward(dout[0], weight, x, out[1], self.config)


class Conv2d(nn.Conv2d):
    """nn.Conv2d (`pad_mode` "pad" or "valid", no dilation or groups) with the same parameters
    (`weight`, `bias`), computed by the native kernels where ms_gan.native has built them;
    otherwise, for stride 1, through Conv2dStride1Kernel's faster backward, and for other
    strides as nn.Conv2d itself. nn.Conv2d.construct stays the plain form of the same math."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="pad", padding=0,
                 has_bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode=pad_mode, padding=padding,
                         has_bias=has_bias)
        pads = _padding(pad_mode, padding)
        library = native.library()
        self.native = library is not None                      # the kernel returns (y, kept)
        self.fused_bias = self.native and has_bias              # the native kernel adds the bias itself
        if library is not None:
            kernel = NativeConv2dBiasKernel if has_bias else NativeConv2dKernel
            self.kernel = kernel(library, self.weight.shape, _pair(stride), pads)
        elif _pair(stride) == (1, 1) and len(set(pads)) == 1 and _pair(kernel_size)[0] == _pair(kernel_size)[1]:
            self.kernel = Conv2dStride1Kernel(in_channels, out_channels, _pair(kernel_size)[0], pads[0])
        else:
            self.kernel = None

    def construct(self, x):
        if self.kernel is None:
            return super().construct(x)
        if self.fused_bias:
            return self.kernel(x, self.weight, self.bias)[0]
        out = self.kernel(x, self.weight)
        out = out[0] if self.native else out
        return ops.bias_add(out, self.bias) if self.has_bias else out


class Conv2dTranspose(nn.Conv2dTranspose):
    """nn.Conv2dTranspose (`pad_mode` "pad" or "valid") with the same parameters (`weight` of
    shape (in, out, k, k), `bias`), computed by the native kernels where ms_gan.native has
    built them; otherwise, for stride 1, as the stride-1 convolution it equals (the weights
    flipped in space, in/out swapped, padded by kernel - 1 - padding) on MindSpore's forward
    Conv2D and Conv2dStride1Kernel's backward instead of the slower CPU Conv2DBackpropInput
    (docs/bench_ops.md), and for other strides as nn.Conv2dTranspose itself."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="pad", padding=0,
                 has_bias=False):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode=pad_mode, padding=padding,
                         has_bias=has_bias)
        pads = _padding(pad_mode, padding)
        library = native.library()
        self.flip = False
        self.native = library is not None                      # the kernel returns (y, kept)
        if library is not None:
            self.kernel = NativeConv2dTransposeKernel(library, self.weight.shape, _pair(stride), pads)
        elif _pair(stride) == (1, 1) and len(set(pads)) == 1 and _pair(kernel_size)[0] == _pair(kernel_size)[1]:
            k = _pair(kernel_size)[0]
            self.kernel = Conv2dStride1Kernel(in_channels, out_channels, k, k - 1 - pads[0])
            self.flip = True
        else:
            self.kernel = None

    def construct(self, x):
        if self.kernel is None:
            return super().construct(x)
        weight = self.kernel.flipped(self.weight).transpose(1, 0, 2, 3) if self.flip else self.weight
        out = self.kernel(x, weight)
        out = out[0] if self.native else out
        return ops.bias_add(out, self.bias) if self.has_bias else out


class NativeDenseKernel(Kernel):
    """x @ weight.T (+ bias) and both its gradients as native sgemm kernels (ms_gan/native/dense.cpp,
    docs/native.md#dense): one kernel a direction where MindSpore's CPU runs MatMul and BiasAdd
    forward, two MatMuls and BiasAddGrad backward, each at a fixed cost several times the
    arithmetic of the models' small products."""

    def __init__(self, library, weight_shape, has_bias):
        super().__init__()
        out_features, in_features = weight_shape
        suffix = "_bias" if has_bias else ""
        self.forward = ops.Custom(f"{library}:ms_gan_dense_forward{suffix}",
                                  out_shape=lambda x, w, *b: (x[0], out_features), out_dtype=_same_dtype,
                                  func_type="aot")
        self.backward_data = ops.Custom(f"{library}:ms_gan_dense_backward_data",
                                        out_shape=lambda dy, w: (dy[0], in_features), out_dtype=_same_dtype,
                                        func_type="aot")
        if has_bias:
            self.backward_weights = ops.Custom(f"{library}:ms_gan_dense_backward_weights_bias",
                                               out_shape=lambda x, dy: (tuple(weight_shape), (out_features,)),
                                               out_dtype=lambda x, dy: (x, x), func_type="aot")
        else:
            self.backward_weights = ops.Custom(f"{library}:ms_gan_dense_backward_weights",
                                               out_shape=lambda x, dy: tuple(weight_shape), out_dtype=_same_dtype,
                                               func_type="aot")

    def construct(self, x, weight):
        return self.forward(x, weight)

    def bprop(self, x, weight, out, dout):
        return self.backward_data(dout, weight), self.backward_weights(x, dout)


class NativeDenseBiasKernel(NativeDenseKernel):
    """NativeDenseKernel with the bias added in the forward kernel and its gradient summed in
    the weight-gradient kernel."""

    def construct(self, x, weight, bias):
        return self.forward(x, weight, bias)

    def bprop(self, x, weight, bias, out, dout):
        grad_weight, grad_bias = self.backward_weights(x, dout)
        return self.backward_data(dout, weight), grad_weight, grad_bias


class Dense(nn.Dense):
    """nn.Dense with the same parameters (`weight` (out, in), `bias`), computed by the native
    kernels where ms_gan.native has built them (2-d inputs; others, and where the kernels are
    off, as nn.Dense itself). nn.Dense.construct stays the plain form of the same math."""

    def __init__(self, in_channels, out_channels, weight_init=None, bias_init=None, has_bias=True, activation=None):
        super().__init__(in_channels, out_channels, weight_init, bias_init, has_bias, activation)
        library = native.library()
        self.kernel = None
        if library is not None:
            kernel = NativeDenseBiasKernel if has_bias else NativeDenseKernel
            self.kernel = kernel(library, tuple(self.weight.shape), has_bias)

    def construct(self, x):
        if self.kernel is None or x.ndim != 2:
            return super().construct(x)
        out = self.kernel(x, self.weight, self.bias) if self.has_bias else self.kernel(x, self.weight)
        return self.activation(out) if self.activation_flag else out


def _in_place(op):
    """A Custom op that writes its Parameter inputs in place (its signature says which), kept
    and ordered by MindSpore as a memory side effect, as its Assign is."""
    op.add_prim_attr("side_effect_mem", True)
    return op


class NativeBatchNormKernel(Kernel):
    """BatchNorm's training forward, (x, gamma, beta) -> (y, mean, invstd, unbiased variance),
    and its backward as native kernels (ms_gan/native/batchnorm.cpp, docs/native.md#batchnorm):
    one pass each where MindSpore's CPU runs oneDNN's BatchNorm and a separate update of the
    running statistics forward, BatchNormGrad backward."""

    def __init__(self, library, eps):
        super().__init__()
        self.eps = ms.Tensor(np.array([eps], np.float32))
        self.forward = ops.Custom(f"{library}:ms_gan_batchnorm_forward",
                                  out_shape=lambda x, *rest: (x, (x[1],), (x[1],), (x[1],)),
                                  out_dtype=lambda x, *rest: (x, x, x, x), func_type="aot")
        self.backward = ops.Custom(f"{library}:ms_gan_batchnorm_backward",
                                   out_shape=lambda dy, x, gamma, mean, invstd: (x, gamma, gamma),
                                   out_dtype=lambda dy, x, gamma, mean, invstd: (x, x, x), func_type="aot")

    def construct(self, x, gamma, beta):
        return self.forward(x, gamma, beta, self.eps)

    def bprop(self, x, gamma, beta, out, dout):
        return self.backward(dout[0], x, gamma, out[1], out[2])


class NativeBatchNormInferenceKernel(Kernel):
    """BatchNorm's eval-mode forward, y = (x - moving_mean) * gamma / sqrt(moving_variance + eps)
    + beta, as one native pass (ms_gan/native/batchnorm.cpp) where MindSpore's CPU BatchNorm
    takes 2-10x as long (docs/bench_ops.md#batchnorm-in-eval-mode). Its backward, rarely run
    (eval mode is for generating), is the same formula differentiated in MindSpore ops; the
    running statistics get no gradient, as in PyTorch."""

    def __init__(self, library, eps):
        super().__init__()
        self.eps = ms.Tensor(np.array([eps], np.float32))
        self.forward = ops.Custom(f"{library}:ms_gan_batchnorm_inference", out_shape=lambda x, *rest: x,
                                  out_dtype=_same_dtype, func_type="aot")

    def construct(self, x, gamma, beta, mean, variance):
        return self.forward(x, gamma, beta, mean, variance, self.eps)

    def bprop(self, x, gamma, beta, mean, variance, out, dout):
        shape = (1, -1) + (1,) * (x.ndim - 2)                 # per channel, broadcast over N and space
        axes = (0,) + tuple(range(2, x.ndim))
        invstd = 1.0 / ops.sqrt(variance + self.eps)
        dgamma = ops.sum(dout * (x - mean.reshape(shape)) * invstd.reshape(shape), axes)
        dx = dout * (gamma * invstd).reshape(shape)
        return dx, dgamma, ops.sum(dout, axes), ops.zeros_like(mean), ops.zeros_like(variance)


class _RunningStatisticsUpdate(ops.Custom):
    __mindspore_signature__ = tuple(
        signature.make_sig(name, signature.sig_rw.RW_WRITE if name.startswith("moving") else signature.sig_rw.RW_READ)
        for name in ("moving_mean", "moving_variance", "mean", "variance", "momentum"))


def _native_batch_norm(layer):
    """(training kernel, running-statistics update, momentum tensor, eval-mode kernel) for a
    BatchNorm layer where ms_gan.native has built the kernels and the layer uses batch
    statistics in training and running statistics in eval mode; four Nones otherwise."""
    library = native.library()
    if library is None or layer.use_batch_statistics is not None:
        return None, None, None, None
    update = _in_place(_RunningStatisticsUpdate(f"{library}:ms_gan_batchnorm_update", out_shape=lambda *shapes: (1,),
                                                out_dtype=lambda *dtypes: ms.float32, func_type="aot"))
    return (NativeBatchNormKernel(library, layer.eps), update, ms.Tensor(np.array([layer.momentum], np.float32)),
            NativeBatchNormInferenceKernel(library, layer.eps))


def _batch_norm_training(layer, x):
    """A BatchNorm layer's training forward on the native kernels: y, and the running statistics
    updated in place by one more kernel."""
    y, mean, _, variance = layer.kernel(x, layer.gamma, layer.beta)
    layer.update_statistics(layer.moving_mean, layer.moving_variance, ops.stop_gradient(mean),
                            ops.stop_gradient(variance), layer.momentum_tensor)
    return y


class BatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d (same parameters: gamma, beta, moving_mean, moving_variance), through
    the native kernels where ms_gan.native has built them: in training mode with batch
    statistics, in eval mode with the running ones; otherwise nn.BatchNorm2d itself."""

    def __init__(self, num_features, eps=1e-5, momentum=0.9, **kwargs):
        super().__init__(num_features, eps=eps, momentum=momentum, **kwargs)
        self.kernel, self.update_statistics, self.momentum_tensor, self.inference_kernel = _native_batch_norm(self)

    def construct(self, x):
        if self.kernel is None:
            return super().construct(x)
        if not self.training:
            return self.inference_kernel(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)
        return _batch_norm_training(self, x)


class BatchNorm1d(nn.BatchNorm1d):
    """nn.BatchNorm1d, as BatchNorm2d. (Two classes, not a shared base: MindSpore's graph
    compiler resolves a mixin's super() to the mixin again.)"""

    def __init__(self, num_features, eps=1e-5, momentum=0.9, **kwargs):
        super().__init__(num_features, eps=eps, momentum=momentum, **kwargs)
        self.kernel, self.update_statistics, self.momentum_tensor, self.inference_kernel = _native_batch_norm(self)

    def construct(self, x):
        if self.kernel is None:
            return super().construct(x)
        if not self.training:
            return self.inference_kernel(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)
        return _batch_norm_training(self, x)


class LeakyReLUKernel(Kernel):
    """MindSpore's leaky_relu, with the backward PyTorch computes: dout where x > 0 and
    alpha * dout elsewhere. MindSpore differentiates its maximum(alpha * x, x)
    into a chain of comparisons and selects, 5-10x PyTorch's time on CPU (docs/bench_ops.md).
    Where ms_gan.native has built its kernels, both directions are one native pass each
    (ms_gan/native/elementwise.cpp), the same bits."""

    def __init__(self, alpha):
        super().__init__()
        library = native.library()
        self.native = library is not None
        if self.native:
            self.forward = ops.Custom(f"{library}:ms_gan_leaky_relu", out_shape=lambda x, alpha: x,
                                      out_dtype=_same_dtype, func_type="aot")
            self.backward = ops.Custom(f"{library}:ms_gan_leaky_relu_backward", out_shape=lambda dy, x, alpha: x,
                                       out_dtype=_same_dtype, func_type="aot")
        self.alpha = alpha

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == "alpha":
            super().__setattr__("alpha_tensor", ms.Tensor(np.array([value], np.float32)))

    def construct(self, x):
        if self.native:
            return self.forward(x, self.alpha_tensor)
        return ops.leaky_relu(x, self.alpha)

    def bprop(self, x, out, dout):
        if self.native:
            return (self.backward(dout, x, self.alpha_tensor),)
        # the slope as arithmetic on the mask, 1 or alpha exactly: 0.6x the time of a Select
        return (dout * ((x > 0).astype(dout.dtype) * (1.0 - self.alpha) + self.alpha),)


class ChannelScaleKernel(Kernel):
    """(x * scale, scale as (N, C, 1, 1)) for x (N, C, H, W) and scale (N or 1, C, 1, 1):
    MindSpore's broadcasting Mul, forward and input gradient (dout * scale), as one native
    pass each where ms_gan.native has built its kernels (ms_gan/native/elementwise.cpp): on
    dropout's shapes MindSpore's broadcasting Mul takes 1.6-4x the time
    (docs/bench_ops.md#dropouts-multiply).
    The same bits: one float32 product per element. `scale` is no weight: its gradient is 0.

    The backward multiplies by the copy the forward returned, not by `scale`: a bprop's
    inputs are read when it runs, and the train step assigns dropout's mask Parameter anew
    between D's calls, so `scale` would be the last call's mask by then."""

    def __init__(self):
        super().__init__()
        library = native.library()
        self.native = library is not None
        if self.native:
            self.forward = ops.Custom(f"{library}:ms_gan_channel_scale_keep",
                                      out_shape=lambda x, scale: (x, [x[0], x[1], 1, 1]),
                                      out_dtype=lambda x, scale: (x, scale),
                                      func_type="aot")
            self.backward = ops.Custom(f"{library}:ms_gan_channel_scale", out_shape=lambda dy, scale: dy,
                                       out_dtype=_same_dtype, func_type="aot")

    def construct(self, x, scale):
        if self.native and x.ndim == 4:
            return self.forward(x, scale)
        return x * scale, ops.broadcast_to(scale, (x.shape[0], x.shape[1], 1, 1)) + 0.0

    def bprop(self, x, scale, out, dout):
        if self.native and x.ndim == 4:
            return self.backward(dout[0], out[1]), ops.zeros_like(scale)
        return dout[0] * out[1], ops.zeros_like(scale)


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
    """Nearest-neighbour upsampling by 2, (N, C, H, W) -> (N, C, 2H, 2W). Where ms_gan.native
    has built its kernels, forward and backward are one native pass each
    (ms_gan/native/elementwise.cpp; MindSpore's ResizeNearestNeighborV2 took 12% of cnn_gan's
    step, its ResizeNearestNeighborV2Grad is several times PyTorch's: docs/bench_ops.md); the
    backward sums each 2x2 block in PyTorch's order, its bits. Otherwise the forward is
    MindSpore's (as a reshape and broadcast it was 25% slower in PyNative inference) and the
    backward one MatMul: each pair of output rows laid side by side, (N*C*H, 4W), times a 0/1
    matrix (4W, W) that adds the four entries of each block."""

    def __init__(self):
        super().__init__()
        library = native.library()
        self.native = library is not None
        if self.native:
            self.forward = ops.Custom(f"{library}:ms_gan_upsample2x",
                                      out_shape=lambda x: (x[0], x[1], 2 * x[2], 2 * x[3]), out_dtype=_same_dtype,
                                      func_type="aot")
            self.backward = ops.Custom(f"{library}:ms_gan_upsample2x_backward",
                                       out_shape=lambda dy: (dy[0], dy[1], dy[2] // 2, dy[3] // 2),
                                       out_dtype=_same_dtype, func_type="aot")

    def construct(self, x):
        if self.native:
            return self.forward(x)
        # MindSpore 2.8's interpolate refuses a scale_factor for 4-D nearest unless it may
        # recompute it from the size; the result is PyTorch's nearest x2.
        return ops.interpolate(x, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)

    def bprop(self, x, out, dout):
        if self.native:
            return (self.backward(dout),)
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
