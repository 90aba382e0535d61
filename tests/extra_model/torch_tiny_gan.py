"""A tiny MLP GAN with BatchNorm, 8x8 grey images: the extra model of the tests.

Twin: ms_tiny_gan.py.
"""
import numpy as np
from torch import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM
from parity.common.init_spec import TORCH_DEFAULT_INIT
from torch_gan.init import apply_init_spec


class Generator(nn.Module):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=16, img_shape=(1, 8, 8)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.model = nn.Sequential(
            nn.Linear(latent_dim, 32),
            nn.BatchNorm1d(32, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM),
            nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(32, int(np.prod(img_shape))),
            nn.Tanh(),
        )
        apply_init_spec(self, TORCH_DEFAULT_INIT)

    def forward(self, z):
        img = self.model(z)
        return img.reshape(img.shape[0], *self.img_shape)


class Discriminator(nn.Module):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 8, 8)):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 32), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(32, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, TORCH_DEFAULT_INIT)

    def forward(self, img):
        return self.model(img.reshape(img.shape[0], -1))
