"""A tiny MLP GAN with BatchNorm, 8x8 grey images: the extra model of the tests.

Twin: torch_tiny_gan.py.
"""
import numpy as np
from mindspore import nn

from ms_gan.init import apply_init_spec
from ms_gan.models.layers import LeakyReLU, Tanh
from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM
from parity.common.init_spec import TORCH_DEFAULT_INIT


class Generator(nn.Cell):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=16, img_shape=(1, 8, 8)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.model = nn.SequentialCell(
            nn.Dense(latent_dim, 32),
            nn.BatchNorm1d(32, eps=BATCHNORM_EPS, momentum=1.0 - BATCHNORM_MOMENTUM),
            LeakyReLU(alpha=0.2),
            nn.Dense(32, int(np.prod(img_shape))),
            Tanh(),
        )
        apply_init_spec(self, TORCH_DEFAULT_INIT)

    def construct(self, z):
        img = self.model(z)
        return img.reshape(img.shape[0], *self.img_shape)


class Discriminator(nn.Cell):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 8, 8)):
        super().__init__()
        self.model = nn.SequentialCell(
            nn.Dense(int(np.prod(img_shape)), 32), LeakyReLU(alpha=0.2),
            nn.Dense(32, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, TORCH_DEFAULT_INIT)

    def construct(self, img):
        return self.model(img.reshape(img.shape[0], -1))
