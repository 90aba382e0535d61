"""The MLP GAN of seed 002 (docs/seeds.md#seed-002): 28x28 grey images.

Twin: torch_gan/models/gan.py. Attribute names as in the seed (`main`, `mainf`), so
parameter names are `main.<index>.<name>` / `mainf.<index>.<name>` in both frameworks.
"""
import numpy as np
from mindspore import nn

from parity.common.configs import GAN
from ms_gan.init import apply_init_spec
from ms_gan.models import layers  # Tanh (nn.Tanh is approximate on CPU) and faster CPU backwards


class Generator(nn.Cell):
    """z (N, 100) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 28, 28)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.main = nn.SequentialCell(
            layers.Dense(latent_dim, 256), nn.ReLU(),
            layers.Dense(256, 512), nn.ReLU(),
            layers.Dense(512, int(np.prod(img_shape))), layers.Tanh(),
        )
        apply_init_spec(self, GAN.init)

    def construct(self, z):
        return self.main(z).reshape(-1, *self.img_shape)


class Discriminator(nn.Cell):
    """image (N, 1, 28, 28) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 28, 28)):
        super().__init__()
        # the seed's bare torch nn.LeakyReLU(): slope 0.01; MindSpore's default alpha is 0.2
        self.mainf = nn.SequentialCell(
            layers.Dense(int(np.prod(img_shape)), 512), layers.LeakyReLU(alpha=0.01),
            layers.Dense(512, 256), layers.LeakyReLU(alpha=0.01),
            layers.Dense(256, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, GAN.init)

    def construct(self, x):
        return self.mainf(x.reshape(x.shape[0], -1))
