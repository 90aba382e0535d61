"""The native upsampling, LeakyReLU, dropout's multiply and tanh (ms_gan/native/elementwise.cpp,
layers.Upsample, layers.LeakyReLU and dropout.Dropout2d, docs/native.md#upsampling-and-leakyrelu):
bit-equal to the same layers on MindSpore's own kernels, forward and input gradient, under
ms.jit and in PyNative mode, on the models' shapes and odd ones with zeros, negative zeros,
NaN and infinities in the input; and within the layer tests' tolerance of PyTorch's (dropout's
product and the upsampling: PyTorch's bits). tanh: rounded from the true value (within 0.5 ulp),
its backward PyTorch's bits on the same output."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import ops

from ms_gan import native
from ms_gan.models import layers
from ms_gan.models.dropout import Dropout2d
from torch_gan.models.dropout import Dropout2d as TorchDropout2d
from helpers.layer_checks import assert_close, ms_value_and_grads, randn, torch_value_and_grads

needs_library = pytest.mark.skipif(native.library() is None, reason="needs g++ and MindSpore's libdnnl.so.2")

# (name, input shape): the models' upsampling and LeakyReLU inputs at batch 2, then odd ones.
SHAPES = [
    ("cnn_gan G upsample 128 8x8", (2, 128, 8, 8)),
    ("cnn_gan G upsample 128 16x16", (2, 128, 16, 16)),
    ("dcgan D 64 32x32", (2, 64, 32, 32)),
    ("gan D 1d 512", (2, 512)),
    ("odd 1 1x1", (1, 1, 1, 1)),
    ("odd 3 5x7", (3, 3, 5, 7)),
]


def special_values(shape):
    """A seeded input with exact zeros of both signs, NaN and both infinities in it."""
    x = randn(*shape).reshape(-1)
    x[:: 7] = 0.0
    x[3:: 11] = -0.0
    for i, value in enumerate((np.nan, np.inf, -np.inf)):
        if x.size > 5 + i:
            x[5 + i] = value
    return x.reshape(shape)


def native_and_own(make):
    fast = make()
    with native.suspended():
        own = make()
    return fast, own


LAYERS = {
    "upsample": (layers.Upsample, lambda: torch.nn.Upsample(scale_factor=2)),
    "leaky_relu 0.2": (lambda: layers.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "leaky_relu 0.01": (lambda: layers.LeakyReLU(0.01), lambda: torch.nn.LeakyReLU(0.01)),
}


CASES = [(layer, name, shape) for layer in sorted(LAYERS) for name, shape in SHAPES
         if layer != "upsample" or len(shape) == 4]     # upsampling takes (N, C, H, W) only


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("layer, name, shape", CASES, ids=[f"{layer} {name}" for layer, name, _ in CASES])
def test_native_layer_is_mindspores_own_bit_for_bit(layer, name, shape, jit):
    make, _ = LAYERS[layer]
    fast, own = native_and_own(make)
    assert fast.kernel.native and not own.kernel.native
    x = special_values(shape)
    cotangent = randn(*fast(ms.Tensor(x)).shape)
    out, (dx,) = ms_value_and_grads(fast, x, cotangent, jit)
    own_out, (own_dx,) = ms_value_and_grads(own, x, cotangent, jit)
    np.testing.assert_array_equal(out, own_out)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(own_out))
    np.testing.assert_array_equal(dx, own_dx)


@needs_library
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_native_layer_matches_pytorch(layer):
    make, make_torch = LAYERS[layer]
    fast = make()
    x = randn(2, 16, 6, 5)
    cotangent = randn(*fast(ms.Tensor(x)).shape)
    out, grads = ms_value_and_grads(fast, x, cotangent, jit=True)
    torch_out, torch_grads = torch_value_and_grads(make_torch(), x, cotangent)
    assert out.shape == torch_out.shape
    assert_close(out, torch_out)
    assert_close(grads[0], torch_grads[0])


@needs_library
@pytest.mark.parametrize("shape", [(2, 128, 8, 8), (3, 5, 7, 9)], ids=str)
def test_native_upsampling_is_pytorchs_bit_for_bit(shape):
    x = randn(*shape)
    cotangent = randn(shape[0], shape[1], 2 * shape[2], 2 * shape[3])
    out, (dx,) = ms_value_and_grads(layers.Upsample(), x, cotangent, jit=True)
    torch_out, (torch_dx,) = torch_value_and_grads(torch.nn.Upsample(scale_factor=2), x, cotangent)
    np.testing.assert_array_equal(out, torch_out)
    np.testing.assert_array_equal(dx, torch_dx)


def tanh_inputs(shape):
    """Normal values at five scales, then the edges of the kernel's branches and the
    special values, cut or repeated to `shape`."""
    rng = np.random.default_rng(3)
    n = int(np.prod(shape))
    values = np.concatenate([rng.standard_normal(n) * s for s in (1e-3, 0.1, 1.0, 3.0, 6.0)])
    edges = [0.0, -0.0, 1e-30, -1e-30, 2.0 ** -12, -(2.0 ** -12), 2.0 ** -12 * 1.0001, 9.0, 9.02, -9.02, 10.0,
             -10.0, 11.0, 1e30, -1e30, np.inf, -np.inf, np.nan]
    values = np.concatenate([edges, values])
    return np.resize(values, n).reshape(shape).astype(np.float32)


# gan's and gan_bn's G output (N, 784), dcgan's image, an odd size
TANH_SHAPES = [(32, 784), (2, 3, 64, 64), (3, 5, 7)]


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("shape", TANH_SHAPES, ids=str)
def test_native_tanh_is_tanh_rounded_and_its_backward_pytorchs_bits(shape, jit):
    layer = layers.Tanh()
    assert layer.kernel is not None
    x = tanh_inputs(shape)
    cotangent = randn(*shape)
    out, (dx,) = ms_value_and_grads(layer, x, cotangent, jit)
    finite = np.isfinite(x)
    exact = np.tanh(x.astype(np.float64))[finite]
    ulps = np.abs(out[finite] - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 0.5001                     # rounded (a double rounding may miss by 1e-4 ulp)
    np.testing.assert_array_equal(out[~finite], np.tanh(x[~finite]))            # +-1 and NaN
    np.testing.assert_array_equal(np.signbit(out), np.signbit(x))               # -0.0 stays -0.0
    torch_dx = torch.ops.aten.tanh_backward(torch.from_numpy(cotangent), torch.from_numpy(out)).numpy()
    np.testing.assert_array_equal(dx, torch_dx)


@needs_library
def test_native_tanh_matches_pytorchs_layer():
    x, cotangent = randn(4, 784, scale=2.0), randn(4, 784)
    out, (dx,) = ms_value_and_grads(layers.Tanh(), x, cotangent, jit=True)
    torch_out, (torch_dx,) = torch_value_and_grads(torch.nn.Tanh(), x, cotangent)
    assert np.abs(out - torch_out).max() <= 6e-8 and np.mean(out == torch_out) > 0.95
    assert_close(dx, torch_dx)


def test_without_the_library_tanh_is_expm1_tanh():
    with native.suspended():
        layer = layers.Tanh()
    assert layer.kernel is None
    x = np.linspace(-12, 12, 4001, dtype=np.float32)
    np.testing.assert_array_equal(layer(ms.Tensor(x)).asnumpy(), layers.expm1_tanh(ms.Tensor(x)).asnumpy())
    assert np.abs(layer(ms.Tensor(x)).asnumpy() - np.tanh(x.astype(np.float64))).max() < 3e-7


@needs_library
def test_a_slope_set_later_reaches_the_native_kernel():
    fast, own = native_and_own(lambda: layers.LeakyReLU(0.2))
    for layer in (fast, own):
        layer.alpha = 0.05
    x = randn(4, 9)
    out, (dx,) = ms_value_and_grads(fast, x, np.ones_like(x), jit=False)
    own_out, (own_dx,) = ms_value_and_grads(own, x, np.ones_like(x), jit=False)
    np.testing.assert_array_equal(out, own_out)
    np.testing.assert_array_equal(dx, own_dx)
    assert set(np.unique(dx)) == {np.float32(1.0), np.float32(0.05)}


# (name, input shape, mask's first dimension): the models' dropout inputs at batch 2 (D's
# blocks of cnn_gan and sgan, dcgan_mnist's two layers) with a mask per image as the train
# step gives it, the mask a new layer keeps (one for all images), and odd ones.
DROPOUT_CASES = [
    ("cnn_gan D 16 16x16", (2, 16, 16, 16), 2),
    ("cnn_gan D 128 2x2", (2, 128, 2, 2), 2),
    ("dcgan_mnist D 64 13x13", (2, 64, 13, 13), 2),
    ("dcgan_mnist D 128 6x6, one mask for all", (2, 128, 6, 6), 1),
    ("odd 3 5x7", (3, 3, 5, 7), 3),
    ("odd 1 1x1", (1, 1, 1, 1), 1),
]


def dropout_mask(count, channels):
    """A mask as streams.dropout_masks draws them: 0 or 1 / (1 - 0.5) = 2 per image and channel."""
    return np.where(randn(count, channels) > 0, np.float32(2.0), np.float32(0.0)).reshape(count, channels, 1, 1)


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("name, shape, mask_rows", DROPOUT_CASES, ids=[case[0] for case in DROPOUT_CASES])
def test_native_dropout_is_mindspores_multiply_bit_for_bit(name, shape, mask_rows, jit):
    fast, own = native_and_own(lambda: Dropout2d(0.5, shape[1]))
    assert fast.kernel.native and not own.kernel.native
    mask = dropout_mask(mask_rows, shape[1])
    for layer in (fast, own):
        layer.set_train(True)
        layer.mask.set_data(ms.Tensor(mask))
    x = special_values(shape)
    cotangent = special_values(shape)[::-1].copy()
    out, (dx,) = ms_value_and_grads(fast, x, cotangent, jit)
    own_out, (own_dx,) = ms_value_and_grads(own, x, cotangent, jit)
    np.testing.assert_array_equal(out, own_out)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(own_out))
    np.testing.assert_array_equal(dx, own_dx)
    with np.errstate(invalid="ignore"):                                 # inf * 0 is NaN, as in PyTorch
        np.testing.assert_array_equal(np.isnan(out), np.isnan(x * mask))
    reference = TorchDropout2d(0.5, shape[1])
    reference.mask = torch.from_numpy(mask)
    torch_out, (torch_dx,) = torch_value_and_grads(reference.train(), x, cotangent)
    np.testing.assert_array_equal(out, torch_out)
    np.testing.assert_array_equal(dx, torch_dx)


@pytest.mark.parametrize("native_on", [True, False], ids=["native", "off"])
def test_dropout_backward_uses_the_mask_of_its_own_call(native_on):
    """As in D's step: the mask Parameter assigned anew before each call, both calls'
    gradients taken after both ran. Each call's input gradient is its own mask (broadcast),
    as PyTorch's autograd keeps it; a backward that read the Parameter when it ran would
    take the second call's mask for both (jit and the kernels on or off)."""
    if native_on:
        layer = Dropout2d(0.5, 3)
    else:
        with native.suspended():
            layer = Dropout2d(0.5, 3)
    assert layer.kernel.native == native_on or native.library() is None
    layer.set_train(True)
    first = np.array([2.0, 0.0, 2.0, 0.0, 0.0, 2.0], np.float32).reshape(2, 3, 1, 1)
    second = 2.0 - first
    layer.mask.set_data(ms.Tensor(first))      # the batch's mask shape, as the train step sets it

    def two_calls(x1, x2, m1, m2):
        ops.assign(layer.mask, m1)
        a = layer(x1)
        ops.assign(layer.mask, m2)
        b = layer(x2)
        return a.sum() + b.sum()

    x = ms.Tensor(randn(2, 3, 4, 5))
    dx1, dx2 = ms.jit(ms.grad(two_calls, (0, 1)))(x, x, ms.Tensor(first), ms.Tensor(second))
    np.testing.assert_array_equal(dx1.asnumpy(), np.broadcast_to(first, (2, 3, 4, 5)))
    np.testing.assert_array_equal(dx2.asnumpy(), np.broadcast_to(second, (2, 3, 4, 5)))


@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
def test_dropout_after_its_mask_changes_shape(jit):
    """A layer called with the mask it was made with (one for all images), then given a mask
    per image, as the train step gives it: the output and input gradient use the new mask."""
    layer = Dropout2d(0.5, 3)
    layer.set_train(True)
    x = randn(4, 3, 2, 2)
    out, (dx,) = ms_value_and_grads(layer, x, np.ones_like(x), jit)
    np.testing.assert_array_equal(out, x)
    mask = dropout_mask(4, 3)
    layer.mask.set_data(ms.Tensor(mask))
    out, (dx,) = ms_value_and_grads(layer, x, np.ones_like(x), jit)
    np.testing.assert_array_equal(out, x * mask)
    np.testing.assert_array_equal(dx, np.broadcast_to(mask, x.shape))
