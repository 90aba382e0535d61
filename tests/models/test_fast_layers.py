"""The MindSpore layers with their own CPU backward (ms_gan/models/layers.py) compute what
MindSpore's own layers and autodiff compute, and what PyTorch computes, under ms.jit and in
PyNative mode."""
import numpy as np
import pytest
import torch
from mindspore import nn

from helpers.layer_checks import assert_three_ways_agree, ms_value_and_grads, randn, torch_value_and_grads
from ms_gan.models import layers

def layer_cases():
    """(name, fast MindSpore layer, MindSpore's own layer, PyTorch's, input shape)."""
    conv = (layers.Conv2d(6, 5, 3, padding=1, has_bias=True),
            nn.Conv2d(6, 5, 3, 1, pad_mode="pad", padding=1, has_bias=True),
            torch.nn.Conv2d(6, 5, 3, 1, 1), (4, 6, 9, 9))
    conv_valid = (layers.Conv2d(7, 1, 4, padding=0, has_bias=False),                # dcgan's last D layer
                  nn.Conv2d(7, 1, 4, 1, pad_mode="valid", has_bias=False),
                  torch.nn.Conv2d(7, 1, 4, 1, 0, bias=False), (3, 7, 4, 4))
    deconv3 = (layers.Conv2dTranspose(6, 5, 3, padding=1, has_bias=True),
               nn.Conv2dTranspose(6, 5, 3, 1, pad_mode="pad", padding=1, has_bias=True),
               torch.nn.ConvTranspose2d(6, 5, 3, 1, 1), (4, 6, 7, 7))
    deconv4 = (layers.Conv2dTranspose(7, 5, 4, padding=0, has_bias=False),       # dcgan's first layer
               nn.Conv2dTranspose(7, 5, 4, 1, pad_mode="valid", has_bias=False),
               torch.nn.ConvTranspose2d(7, 5, 4, 1, 0, bias=False), (3, 7, 1, 1))
    return [("conv 3x3", *conv), ("conv 4x4 to 1x1", *conv_valid), ("transposed conv 3x3", *deconv3), ("transposed conv 4x4 from 1x1", *deconv4),
            ("leaky relu 0.2", layers.LeakyReLU(alpha=0.2), nn.LeakyReLU(alpha=0.2),
             torch.nn.LeakyReLU(0.2), (4, 3, 5, 5)),
            ("leaky relu 0.01", layers.LeakyReLU(alpha=0.01), nn.LeakyReLU(alpha=0.01),
             torch.nn.LeakyReLU(0.01), (6, 20)),
            ("upsample x2", layers.Upsample(),
             nn.Upsample(scale_factor=2.0, mode="nearest", recompute_scale_factor=True),
             torch.nn.Upsample(scale_factor=2, mode="nearest"), (3, 4, 5, 6))]


@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("case", layer_cases(), ids=lambda case: case[0])
def test_fast_layer_matches_mindspore_autodiff_and_pytorch(case, jit):
    _, fast, native, reference, shape = case
    assert_three_ways_agree(fast, native, reference, shape, jit)


def test_leaky_relu_takes_pytorchs_slope_at_zero():
    """At x = 0 PyTorch's gradient is the negative slope; MindSpore's own (maximum's gradient)
    splits the tie, (1 + alpha) / 2. The fast layer is PyTorch's."""
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]], np.float32)
    dout = np.ones_like(x)
    _, (fast,) = ms_value_and_grads(layers.LeakyReLU(alpha=0.2), x, dout, jit=True)
    _, (native,) = ms_value_and_grads(nn.LeakyReLU(alpha=0.2), x, dout, jit=True)
    _, (reference,) = torch_value_and_grads(torch.nn.LeakyReLU(0.2), x, dout)
    np.testing.assert_allclose(fast, [[0.2, 0.2, 0.2, 1.0, 1.0]], rtol=1e-6)
    np.testing.assert_array_equal(fast, reference)
    np.testing.assert_allclose(native[0, 2], 0.6, rtol=1e-6)


def test_upsample_gradient_is_the_block_sum():
    x = randn(2, 3, 4, 5)
    dout = randn(2, 3, 8, 10)
    _, (dx,) = ms_value_and_grads(layers.Upsample(), x, dout, jit=True)
    expected = dout.reshape(2, 3, 4, 2, 5, 2).sum(axis=(3, 5))
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-6)


def test_fast_layers_keep_the_parameter_names_of_mindspore_layers():
    assert [p.name for p in layers.Conv2d(2, 3, 3, padding=1).get_parameters()] == ["weight", "bias"]
    assert [p.name for p in layers.Conv2dTranspose(2, 3, 3, padding=1, has_bias=True).get_parameters()] == \
        ["weight", "bias"]
    assert layers.Conv2dTranspose(2, 3, 4).weight.shape == (2, 3, 4, 4)      # (in, out, k, k) as nn.Conv2dTranspose
