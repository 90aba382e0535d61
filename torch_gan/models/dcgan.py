"""The DCGAN of the MindSpore faces tutorial (seed 001, docs/seeds.md#seed-001): 64x64 RGB images.

Twin: ms_gan/models/dcgan.py. Layers sit in `self.main` as in pytorch/examples'
dcgan, so parameter names are `main.<index>.<name>` in both frameworks.
"""
from torch import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, DCGAN
from torch_gan.init import apply_init_spec


def batch_norm(features):
    return nn.BatchNorm2d(features, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM)


def up(in_channels, out_channels, stride, padding):
    return nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding=padding, bias=False)


def down(in_channels, out_channels, stride, padding):
    return nn.Conv2d(in_channels, out_channels, 4, stride, padding=padding, bias=False)


class Generator(nn.Module):
    """z (N, nz, 1, 1) -> image (N, nc, 64, 64) in [-1, 1]."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            up(nz, ngf * 8, 1, 0), batch_norm(ngf * 8), nn.ReLU(),            # 4x4
            up(ngf * 8, ngf * 4, 2, 1), batch_norm(ngf * 4), nn.ReLU(),       # 8x8
            up(ngf * 4, ngf * 2, 2, 1), batch_norm(ngf * 2), nn.ReLU(),       # 16x16
            up(ngf * 2, ngf, 2, 1), batch_norm(ngf), nn.ReLU(),               # 32x32
            up(ngf, nc, 2, 1), nn.Tanh(),                                     # 64x64
        )
        apply_init_spec(self, DCGAN.init)

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    """image (N, nc, 64, 64) -> probability of being real, (N, 1)."""

    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            down(nc, ndf, 2, 1), nn.LeakyReLU(negative_slope=0.2),                                  # 32x32
            down(ndf, ndf * 2, 2, 1), batch_norm(ndf * 2), nn.LeakyReLU(negative_slope=0.2),        # 16x16
            down(ndf * 2, ndf * 4, 2, 1), batch_norm(ndf * 4), nn.LeakyReLU(negative_slope=0.2),    # 8x8
            down(ndf * 4, ndf * 8, 2, 1), batch_norm(ndf * 8), nn.LeakyReLU(negative_slope=0.2),    # 4x4
            down(ndf * 8, 1, 1, 0), nn.Sigmoid(),                                                   # 1x1
        )
        apply_init_spec(self, DCGAN.init)

    def forward(self, x):
        out = self.main(x)
        return out.reshape(out.shape[0], -1)
