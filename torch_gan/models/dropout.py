"""Dropout whose masks the training step gives, drawn in numpy from the run's seed
(parity/common/streams.py's `dropout_masks`): so a run repeats and resumes bit for bit,
and MindSpore and PyTorch runs drop the same channels (docs/framework_differences.md#dropout).

Twin: ms_gan/models/dropout.py.
"""
import torch
from torch import nn


class Dropout2d(nn.Module):
    """nn.Dropout2d(p) for (N, channels, H, W) inputs: in train mode the input times the
    mask last given (`mask`: 0 or 1 / (1 - p) per image and channel, which the training
    step sets before each call of the network); eval mode, or p = 0, returns the input.

    The mask is a plain attribute, no buffer: it is no weight, never checkpointed.
    Before a step sets one, the mask keeps every channel."""

    def __init__(self, p, channels):
        super().__init__()
        self.p = p
        self.channels = channels
        self.mask = torch.ones((1, channels, 1, 1))

    def forward(self, x):
        if self.training and self.p > 0:
            return x * self.mask
        return x

    def extra_repr(self):
        return f"p={self.p}, channels={self.channels}"
