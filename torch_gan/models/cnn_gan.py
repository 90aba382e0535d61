"""The CNN GAN of seed 004 (`--type DCGAN`: Generator_CNN, Discriminator_CNN): 32x32 grey images.
The seed: docs/seeds.md#seed-004.

Twin: ms_gan/models/cnn_gan.py. Attribute names as in the seed (`l1`, `conv_blocks`;
`model`, `adv_layer`). The blocks are shared with sgan (seed 003 has the same layers).
"""
from torch import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, CNN_GAN, SEED_BATCHNORM_EPS
from torch_gan.init import apply_init_spec
from torch_gan.models.dropout import Dropout2d


def batch_norm(features, eps):
    return nn.BatchNorm2d(features, eps=eps, momentum=BATCHNORM_MOMENTUM)


def generator_blocks(channels):
    return nn.Sequential(
        batch_norm(128, BATCHNORM_EPS),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(128, 128, 3, stride=1, padding=1),
        batch_norm(128, SEED_BATCHNORM_EPS),          # the seed's BatchNorm2d(128, 0.8): eps
        nn.LeakyReLU(negative_slope=0.2),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(128, 64, 3, stride=1, padding=1),
        batch_norm(64, SEED_BATCHNORM_EPS),
        nn.LeakyReLU(negative_slope=0.2),
        nn.Conv2d(64, channels, 3, stride=1, padding=1),
        nn.Tanh(),
    )


def discriminator_block(in_filters, out_filters, bn=True):
    block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(negative_slope=0.2), Dropout2d(0.25, out_filters)]
    if bn:
        block.append(batch_norm(out_filters, SEED_BATCHNORM_EPS))
    return block


def discriminator_blocks(channels):
    return nn.Sequential(
        *discriminator_block(channels, 16, bn=False),
        *discriminator_block(16, 32),
        *discriminator_block(32, 64),
        *discriminator_block(64, 128),
    )


class Generator(nn.Module):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 32, 32)):
        super().__init__()
        self.init_size = img_shape[1] // 4
        self.l1 = nn.Sequential(nn.Linear(latent_dim, 128 * self.init_size ** 2))
        self.conv_blocks = generator_blocks(img_shape[0])
        apply_init_spec(self, CNN_GAN.init)

    def forward(self, z):
        out = self.l1(z)
        out = out.reshape(out.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


class Discriminator(nn.Module):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 32, 32)):
        super().__init__()
        self.model = discriminator_blocks(img_shape[0])
        ds_size = img_shape[1] // 2 ** 4
        self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size ** 2, 1), nn.Sigmoid())
        apply_init_spec(self, CNN_GAN.init)

    def forward(self, img):
        out = self.model(img)
        return self.adv_layer(out.reshape(out.shape[0], -1))
