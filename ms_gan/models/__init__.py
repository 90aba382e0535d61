"""Model registry: `build(name)` returns an initialised (generator, discriminator).

Twin: torch_gan/models/__init__.py. A model's config (parity/common/configs.py) names the
module of its networks, so a new model needs no line here.
"""
from mindspore import nn

from ms_gan.init import init_from_seed
from ms_gan.models.dropout import Dropout2d
from parity.common.configs import build_networks
from parity.common.frameworks import MINDSPORE

DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, Dropout2d)


def dropout_layers(net):
    """[(name, layer)] of the dropout layers of a network."""
    return [(name, cell) for name, cell in net.cells_and_names() if isinstance(cell, DROPOUTS)]


def build(name, seed=None, dropout=True):
    """The generator and discriminator of model `name`, initialised by its init spec:
    from MindSpore's generator, or bit-equal to the PyTorch twin when `seed` is given.
    `dropout=False` turns every dropout layer off (p = 0) in train mode too (`--no-dropout`;
    the parity tools, which call the networks outside a training step: only a step gives
    the layers masks, docs/framework_differences.md#dropout)."""
    generator, discriminator = build_networks(name, MINDSPORE, init_from_seed, seed)
    if not dropout:
        for net in (generator, discriminator):
            for _, layer in dropout_layers(net):
                if isinstance(layer, Dropout2d):
                    layer.p = 0.0
                else:
                    layer.keep_prob = 1.0     # construct() returns its input then
    return generator, discriminator
