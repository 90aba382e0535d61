"""The MNIST DCGAN of seed 000 (docs/seeds.md#seed-000): 28x28 grey images.

Twin: ms_gan/models/dcgan_mnist.py. Layer names as in the seed. Kept as written: G applies
BatchNorm after the activation; D's dropout p=0.5 and LeakyReLU slope 0.01 are the seed's
F.dropout2d / F.leaky_relu defaults. Fixed: those are modules here, so eval mode turns the
dropout off (F.dropout2d's training=True default kept it on) and hooks see the activations.
"""
from torch import nn

from parity.common.configs import BATCHNORM_EPS, BATCHNORM_MOMENTUM, DCGAN_MNIST
from torch_gan.init import apply_init_spec
from torch_gan.models.dropout import Dropout2d


class Generator(nn.Module):
    """z (N, latent_dim) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100):
        super().__init__()
        self.linear1 = nn.Linear(latent_dim, 256 * 7 * 7)
        self.bn1 = nn.BatchNorm1d(256 * 7 * 7, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM)
        self.deconv1 = nn.ConvTranspose2d(256, 128, kernel_size=3, stride=1, padding=1, bias=True)  # 7x7
        self.bn2 = nn.BatchNorm2d(128, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM)
        self.deconv2 = nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1, bias=True)   # 14x14
        self.bn3 = nn.BatchNorm2d(64, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM)
        self.deconv3 = nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1, bias=True)     # 28x28
        self.relu = nn.ReLU()
        self.tanh = nn.Tanh()
        apply_init_spec(self, DCGAN_MNIST.init)

    def forward(self, x):
        x = self.bn1(self.relu(self.linear1(x)))
        x = x.reshape(-1, 256, 7, 7)
        x = self.bn2(self.relu(self.deconv1(x)))
        x = self.bn3(self.relu(self.deconv2(x)))
        return self.tanh(self.deconv3(x))


class Discriminator(nn.Module):
    """image (N, 1, 28, 28) -> probability of being real, (N, 1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=0, bias=True)     # 13x13
        self.conv2 = nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=0, bias=True)   # 6x6
        self.bn = nn.BatchNorm2d(128, eps=BATCHNORM_EPS, momentum=BATCHNORM_MOMENTUM)
        self.fc = nn.Linear(128 * 6 * 6, 1)
        self.leaky_relu = nn.LeakyReLU(negative_slope=0.01)   # F.leaky_relu's default slope
        self.dropout1 = Dropout2d(0.5, 64)                    # F.dropout2d's default p; one layer a use:
        self.dropout2 = Dropout2d(0.5, 128)                   # each draws its own mask
        self.sigmoid = nn.Sigmoid()
        apply_init_spec(self, DCGAN_MNIST.init)

    def forward(self, x):
        x = self.dropout1(self.leaky_relu(self.conv1(x)))
        x = self.dropout2(self.leaky_relu(self.conv2(x)))
        x = self.bn(x)
        x = x.reshape(-1, 128 * 6 * 6)
        return self.sigmoid(self.fc(x))
