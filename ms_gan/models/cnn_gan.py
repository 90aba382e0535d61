"""The CNN GAN of seed 004 (`--type DCGAN`: Generator_CNN, Discriminator_CNN): 32x32 grey images.
The seed: docs/seeds.md#seed-004.

Twin: torch_gan/models/cnn_gan.py. Attribute names as in the seed (`l1`, `conv_blocks`;
`model`, `adv_layer`). The blocks are shared with sgan (seed 003 has the same layers).
"""
from mindspore import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, CNN_GAN, SEED_BATCHNORM_EPS
from ms_gan.init import apply_init_spec
from ms_gan.models.dropout import Dropout2d
from ms_gan.models import layers  # Tanh (nn.Tanh is approximate on CPU) and faster CPU backwards


def batch_norm(features, eps):
    # MindSpore's momentum weighs the old value: 1 - PyTorch's (docs/framework_differences.md#batchnorm-momentum).
    return layers.BatchNorm2d(features, eps=eps, momentum=1.0 - BATCHNORM_MOMENTUM)


def conv(in_channels, out_channels, stride):
    # Say pad mode and bias: MindSpore's defaults are pad_mode='same', no bias; PyTorch's has a bias.
    return layers.Conv2d(in_channels, out_channels, 3, stride, pad_mode="pad", padding=1, has_bias=True)


def generator_blocks(channels):
    return nn.SequentialCell(
        batch_norm(128, BATCHNORM_EPS),
        layers.Upsample(),
        conv(128, 128, 1),
        batch_norm(128, SEED_BATCHNORM_EPS),          # the seed's BatchNorm2d(128, 0.8): eps
        layers.LeakyReLU(alpha=0.2),
        layers.Upsample(),
        conv(128, 64, 1),
        batch_norm(64, SEED_BATCHNORM_EPS),
        layers.LeakyReLU(alpha=0.2),
        conv(64, channels, 1),
        layers.Tanh(),
    )


def discriminator_block(in_filters, out_filters, bn=True):
    block = [conv(in_filters, out_filters, 2), layers.LeakyReLU(alpha=0.2), Dropout2d(0.25, out_filters)]
    if bn:
        block.append(batch_norm(out_filters, SEED_BATCHNORM_EPS))
    return block


def discriminator_blocks(channels):
    return nn.SequentialCell(
        *discriminator_block(channels, 16, bn=False),
        *discriminator_block(16, 32),
        *discriminator_block(32, 64),
        *discriminator_block(64, 128),
    )


class Generator(nn.Cell):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 32, 32)):
        super().__init__()
        self.init_size = img_shape[1] // 4
        self.l1 = nn.SequentialCell(layers.Dense(latent_dim, 128 * self.init_size ** 2))
        self.conv_blocks = generator_blocks(img_shape[0])
        apply_init_spec(self, CNN_GAN.init)

    def construct(self, z):
        out = self.l1(z)
        out = out.reshape(out.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


class Discriminator(nn.Cell):
    """image (N, *img_shape) -> probability of being real, (N, 1)."""

    def __init__(self, img_shape=(1, 32, 32)):
        super().__init__()
        self.model = discriminator_blocks(img_shape[0])
        ds_size = img_shape[1] // 2 ** 4
        self.adv_layer = nn.SequentialCell(layers.Dense(128 * ds_size ** 2, 1), nn.Sigmoid())
        apply_init_spec(self, CNN_GAN.init)

    def construct(self, img):
        out = self.model(img)
        return self.adv_layer(out.reshape(out.shape[0], -1))
