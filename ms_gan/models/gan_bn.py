"""The MLP GAN with BatchNorm of seed 004 (docs/seeds.md#seed-004; `--type GAN`): 32x32 grey images.

Twin: torch_gan/models/gan_bn.py. Layers sit in `self.model` as in the seed.
"""
import numpy as np
from mindspore import nn

from parity.common.configs import BATCHNORM_MOMENTUM, GAN_BN, SEED_BATCHNORM_EPS
from ms_gan.init import apply_init_spec
from ms_gan.models.layers import BatchNorm1d, Dense, LeakyReLU, Tanh  # nn.Tanh is approximate on CPU; faster CPU kernels


def block(in_feat, out_feat, normalize=True):
    layers = [Dense(in_feat, out_feat)]
    if normalize:
        # the seed's BatchNorm1d(out_feat, 0.8): eps=0.8; MindSpore's momentum is 1 - PyTorch's
        layers.append(BatchNorm1d(out_feat, eps=SEED_BATCHNORM_EPS, momentum=1.0 - BATCHNORM_MOMENTUM))
    layers.append(LeakyReLU(alpha=0.2))
    return layers


class Generator(nn.Cell):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 32, 32)):
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.model = nn.SequentialCell(
            *block(latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            Dense(1024, int(np.prod(img_shape))),
            Tanh(),
        )
        apply_init_spec(self, GAN_BN.init)

    def construct(self, z):
        img = self.model(z)
        return img.reshape(img.shape[0], *self.img_shape)


class Discriminator(nn.Cell):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 32, 32)):
        super().__init__()
        self.model = nn.SequentialCell(
            Dense(int(np.prod(img_shape)), 512), LeakyReLU(alpha=0.2),
            Dense(512, 256), LeakyReLU(alpha=0.2),
            Dense(256, 1), nn.Sigmoid(),
        )
        apply_init_spec(self, GAN_BN.init)

    def construct(self, img):
        return self.model(img.reshape(img.shape[0], -1))
