"""The semi-supervised GAN of seed 003 (docs/seeds.md#seed-003): 32x32 grey images, D with two heads.

Twin: torch_gan/models/sgan.py. The layers are seed 004's CNN GAN (ms_gan/models/cnn_gan.py);
attribute names as in seed 003 (`l1`, `conv_blocks`; `conv_blocks`, `adv_layer`, `aux_layer`).
Fixed: no Softmax in `aux_layer` (the cross-entropy applies log-softmax once; see
parity/common/losses.py), no unused `label_emb`.
"""
from mindspore import nn

from parity.common.configs import SGAN
from ms_gan.init import apply_init_spec
from ms_gan.models import layers  # Dense: native CPU kernels
from ms_gan.models.cnn_gan import discriminator_blocks, generator_blocks


class Generator(nn.Cell):
    """z (N, latent_dim) -> image (N, *img_shape) in [-1, 1]."""

    def __init__(self, latent_dim=100, img_shape=(1, 32, 32)):
        super().__init__()
        self.init_size = img_shape[1] // 4
        self.l1 = nn.SequentialCell(layers.Dense(latent_dim, 128 * self.init_size ** 2))
        self.conv_blocks = generator_blocks(img_shape[0])
        apply_init_spec(self, SGAN.init)

    def construct(self, noise):
        out = self.l1(noise)
        out = out.reshape(out.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


class Discriminator(nn.Cell):
    """image (N, *img_shape) -> (probability of being real (N, 1),
    class logits (N, num_classes + 1); the last class means "generated")."""

    def __init__(self, img_shape=(1, 32, 32), num_classes=10):
        super().__init__()
        self.conv_blocks = discriminator_blocks(img_shape[0])
        ds_size = img_shape[1] // 2 ** 4
        self.adv_layer = nn.SequentialCell(layers.Dense(128 * ds_size ** 2, 1), nn.Sigmoid())
        self.aux_layer = nn.SequentialCell(layers.Dense(128 * ds_size ** 2, num_classes + 1))
        apply_init_spec(self, SGAN.init)

    def construct(self, img):
        out = self.conv_blocks(img)
        out = out.reshape(out.shape[0], -1)
        return self.adv_layer(out), self.aux_layer(out)
