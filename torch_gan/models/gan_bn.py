"""The MLP GAN with BatchNorm of seed 004 (docs/seeds.md#seed-004; `--type GAN`): 32x32 grey images.

Twin: ms_gan/models/gan_bn.py. Layers sit in `self.model` as in the seed.
"""
import numpy as np
from torch import nn

from parity.common.configs import BATCHNORM_MOMENTUM, GAN_BN, SEED_BATCHNORM_EPS
from torch_gan.init import apply_init_spec


def block(in_feat, out_feat, normalize=True):
    layers = [nn.Linear(in_feat, out_feat)]
    if normalize:
        # the seed's BatchNorm1d(out_feat, 0.8): eps=0.8, not momentum (docs/framework_differences.md#batchnorm-eps)
        layers.append(nn.BatchNorm1d(out_feat, eps=SEED_BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM))
    layers.append(nn.LeakyReLU(negative_slope=0.2))
    return layers


class Generator(nn.Module):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 32, 32)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.model = nn.Sequential(
            *block(latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh(),
        )
        apply_init_spec(self, GAN_BN.init)

    def forward(self, z):
        img = self.model(z)
        return img.reshape(img.shape[0], *self.img_shape)


class Discriminator(nn.Module):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 32, 32)):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(512, 256), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(256, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, GAN_BN.init)

    def forward(self, img):
        return self.model(img.reshape(img.shape[0], -1))
