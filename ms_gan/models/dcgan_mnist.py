"""The MNIST DCGAN of seed 000 (docs/seeds.md#seed-000): 28x28 grey images.

Twin: torch_gan/models/dcgan_mnist.py. Layer names as in the seed. Kept as written: G applies
BatchNorm after the activation; D's dropout p=0.5 and LeakyReLU slope 0.01 are the seed's
F.dropout2d / F.leaky_relu defaults. Fixed: those are cells here, so eval mode turns the
dropout off (F.dropout2d's training=True default kept it on) and hooks see the activations.
"""
from mindspore import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, DCGAN_MNIST
from ms_gan.init import apply_init_spec
from ms_gan.models import layers  # Tanh (nn.Tanh is approximate on CPU) and faster CPU backwards
from ms_gan.models.dropout import Dropout2d

# MindSpore's momentum weighs the old value: 1 - PyTorch's (docs/framework_differences.md#batchnorm-momentum).
_MOMENTUM = 1.0 - BATCHNORM_MOMENTUM


def deconv(in_channels, out_channels, kernel_size, stride, padding):
    # Say pad mode and bias: MindSpore's defaults are pad_mode='same', no bias; PyTorch's has a bias.
    return layers.Conv2dTranspose(in_channels, out_channels, kernel_size, stride,
                                  pad_mode="pad", padding=padding, has_bias=True)


class Generator(nn.Cell):
    """z (N, latent_dim) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100):
        super().__init__()
        self.linear1 = layers.Dense(latent_dim, 256 * 7 * 7)
        self.bn1 = layers.BatchNorm1d(256 * 7 * 7, eps=BATCHNORM_EPS, momentum=_MOMENTUM)
        self.deconv1 = deconv(256, 128, 3, 1, 1)   # 7x7
        self.bn2 = layers.BatchNorm2d(128, eps=BATCHNORM_EPS, momentum=_MOMENTUM)
        self.deconv2 = deconv(128, 64, 4, 2, 1)    # 14x14
        self.bn3 = layers.BatchNorm2d(64, eps=BATCHNORM_EPS, momentum=_MOMENTUM)
        self.deconv3 = deconv(64, 1, 4, 2, 1)      # 28x28
        self.relu = nn.ReLU()
        self.tanh = layers.Tanh()
        apply_init_spec(self, DCGAN_MNIST.init)

    def construct(self, x):
        x = self.bn1(self.relu(self.linear1(x)))
        x = x.reshape(-1, 256, 7, 7)
        x = self.bn2(self.relu(self.deconv1(x)))
        x = self.bn3(self.relu(self.deconv2(x)))
        return self.tanh(self.deconv3(x))


class Discriminator(nn.Cell):
    """image (N, 1, 28, 28) -> probability of being real, (N, 1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = layers.Conv2d(1, 64, 3, 2, pad_mode="valid", has_bias=True)     # 13x13
        self.conv2 = layers.Conv2d(64, 128, 3, 2, pad_mode="valid", has_bias=True)   # 6x6
        self.bn = layers.BatchNorm2d(128, eps=BATCHNORM_EPS, momentum=_MOMENTUM)
        self.fc = layers.Dense(128 * 6 * 6, 1)
        self.leaky_relu = layers.LeakyReLU(alpha=0.01)   # torch F.leaky_relu's default slope
        self.dropout1 = Dropout2d(0.5, 64)       # torch F.dropout2d's default p; one layer a use:
        self.dropout2 = Dropout2d(0.5, 128)      # each draws its own mask
        self.sigmoid = nn.Sigmoid()
        apply_init_spec(self, DCGAN_MNIST.init)

    def construct(self, x):
        x = self.dropout1(self.leaky_relu(self.conv1(x)))
        x = self.dropout2(self.leaky_relu(self.conv2(x)))
        x = self.bn(x)
        x = x.reshape(-1, 128 * 6 * 6)
        return self.sigmoid(self.fc(x))
