"""Layers the MindSpore twins need where MindSpore's own differs from PyTorch's."""
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
