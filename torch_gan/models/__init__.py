"""Model registry: `build(name)` returns an initialised (generator, discriminator).

Twin: ms_gan/models/__init__.py. A model's config (parity/common/configs.py) names the
module of its networks, so a new model needs no line here.
"""
from torch import nn

from parity.common.configs import build_networks
from parity.common.frameworks import TORCH
from torch_gan.init import init_from_seed
from torch_gan.models.dropout import Dropout2d

DROPOUTS = (nn.modules.dropout._DropoutNd, Dropout2d)


def dropout_layers(net):
    """[(name, layer)] of the dropout layers of a network."""
    return [(name, module) for name, module in net.named_modules() if isinstance(module, DROPOUTS)]


def build(name, seed=None, dropout=True):
    """The generator and discriminator of model `name`, initialised by its init spec:
    from PyTorch's generator, or bit-equal to the MindSpore twin when `seed` is given.
    `dropout=False` turns every dropout layer off (p = 0) in train mode too (`--no-dropout`;
    the parity tools, which call the networks outside a training step: only a step gives
    the layers masks, docs/framework_differences.md#dropout)."""
    generator, discriminator = build_networks(name, TORCH, init_from_seed, seed)
    if not dropout:
        for net in (generator, discriminator):
            for _, layer in dropout_layers(net):
                layer.p = 0.0
    return generator, discriminator
