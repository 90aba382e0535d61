"""The DCGAN of the MindSpore faces tutorial (seed 001, docs/seeds.md#seed-001): 64x64 RGB images.

Twin: torch_gan/models/dcgan.py. Layers sit in `self.main` as in pytorch/examples'
dcgan, so parameter names are `main.<index>.<name>` in both frameworks.
"""
from mindspore import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, DCGAN
from ms_gan.init import apply_init_spec
from ms_gan.models import layers  # Tanh (nn.Tanh is approximate on CPU) and faster CPU backwards


def batch_norm(features):
    # MindSpore's momentum weighs the old value: 1 - PyTorch's (docs/framework_differences.md#batchnorm-momentum).
    return layers.BatchNorm2d(features, eps=BATCHNORM_EPS, momentum=1.0 - BATCHNORM_MOMENTUM)


def up(in_channels, out_channels, stride, padding):
    # Say pad mode and bias explicitly: MindSpore's defaults are pad_mode='same', no bias.
    return layers.Conv2dTranspose(in_channels, out_channels, 4, stride, pad_mode="pad", padding=padding, has_bias=False)


def down(in_channels, out_channels, stride, padding):
    return layers.Conv2d(in_channels, out_channels, 4, stride, pad_mode="pad", padding=padding, has_bias=False)


class Generator(nn.Cell):
    """z (N, nz, 1, 1) -> image (N, nc, 64, 64) in [-1, 1]."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.SequentialCell(
            up(nz, ngf * 8, 1, 0), batch_norm(ngf * 8), nn.ReLU(),            # 4x4
            up(ngf * 8, ngf * 4, 2, 1), batch_norm(ngf * 4), nn.ReLU(),       # 8x8
            up(ngf * 4, ngf * 2, 2, 1), batch_norm(ngf * 2), nn.ReLU(),       # 16x16
            up(ngf * 2, ngf, 2, 1), batch_norm(ngf), nn.ReLU(),               # 32x32
            up(ngf, nc, 2, 1), layers.Tanh(),                                        # 64x64
        )
        apply_init_spec(self, DCGAN.init)

    def construct(self, z):
        return self.main(z)


class Discriminator(nn.Cell):
    """image (N, nc, 64, 64) -> probability of being real, (N, 1)."""

    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.SequentialCell(
            down(nc, ndf, 2, 1), layers.LeakyReLU(alpha=0.2),                                  # 32x32
            down(ndf, ndf * 2, 2, 1), batch_norm(ndf * 2), layers.LeakyReLU(alpha=0.2),        # 16x16
            down(ndf * 2, ndf * 4, 2, 1), batch_norm(ndf * 4), layers.LeakyReLU(alpha=0.2),    # 8x8
            down(ndf * 4, ndf * 8, 2, 1), batch_norm(ndf * 8), layers.LeakyReLU(alpha=0.2),    # 4x4
            down(ndf * 8, 1, 1, 0), nn.Sigmoid(),                                          # 1x1
        )
        apply_init_spec(self, DCGAN.init)

    def construct(self, x):
        out = self.main(x)
        return out.reshape(out.shape[0], -1)
