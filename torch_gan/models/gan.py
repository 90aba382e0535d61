"""The MLP GAN of seed 002 (docs/seeds.md#seed-002): 28x28 grey images.

Twin: ms_gan/models/gan.py. Attribute names as in the seed (`main`, `mainf`), so
parameter names are `main.<index>.<name>` / `mainf.<index>.<name>` in both frameworks.
"""
import numpy as np
from torch import nn

from parity.common.configs import GAN
from torch_gan.init import apply_init_spec


class Generator(nn.Module):
    """z (N, 100) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 28, 28)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.main = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(),
            nn.Linear(256, 512), nn.ReLU(),
            nn.Linear(512, int(np.prod(img_shape))), nn.Tanh(),
        )
        apply_init_spec(self, GAN.init)

    def forward(self, z):
        return self.main(z).reshape(-1, *self.img_shape)


class Discriminator(nn.Module):
    """image (N, 1, 28, 28) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 28, 28)):
        super().__init__()
        # the seed's bare nn.LeakyReLU(): PyTorch's default slope 0.01 (MindSpore's is 0.2)
        self.mainf = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512), nn.LeakyReLU(negative_slope=0.01),
            nn.Linear(512, 256), nn.LeakyReLU(negative_slope=0.01),
            nn.Linear(256, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, GAN.init)

    def forward(self, x):
        return self.mainf(x.reshape(x.shape[0], -1))
