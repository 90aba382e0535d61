"""Dropout whose masks the training step gives, drawn in numpy from the run's seed
(parity/common/streams.py's `dropout_masks`): so a run repeats and resumes bit for bit,
and MindSpore and PyTorch runs drop the same channels (docs/framework_differences.md#dropout).

Twin: torch_gan/models/dropout.py.
"""
import itertools

import mindspore as ms
import numpy as np
from mindspore import nn

from ms_gan.models.layers import ChannelScaleKernel

_names = itertools.count()


class Dropout2d(nn.Cell):
    """nn.Dropout2d(p) for (N, channels, H, W) inputs: in train mode the input times the
    mask last given (`mask`: 0 or 1 / (1 - p) per image and channel, which the training
    step assigns before each call of the network); eval mode, or p = 0, returns the input.

    The mask is a Parameter so that ms.jit reads the value assigned in the compiled step,
    but it is not an attribute MindSpore registers: it is no weight, never checkpointed.
    Before a step sets one, the mask keeps every channel."""

    def __init__(self, p, channels):
        super().__init__()
        self.p = p
        self.channels = channels
        mask = ms.Parameter(ms.Tensor(np.ones((1, channels, 1, 1), np.float32)),
                            name=f"dropout_mask_{next(_names)}", requires_grad=False)
        object.__setattr__(self, "mask", mask)
        self.kernel = ChannelScaleKernel()     # x * mask, one native pass each way on CPU

    def construct(self, x):
        if self.training and self.p > 0:
            return self.kernel(x, self.mask)[0]
        return x

    def extend_repr(self):
        return f"p={self.p}, channels={self.channels}"
