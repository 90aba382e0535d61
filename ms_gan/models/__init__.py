"""Model registry: `build(name)` returns an initialised (generator, discriminator)."""
from parity.common.configs import get_config
from ms_gan.init import init_from_seed

from . import cnn_gan, dcgan, dcgan_mnist, gan, gan_bn, sgan

_MODULES = {"dcgan": dcgan, "gan": gan, "gan_bn": gan_bn, "cnn_gan": cnn_gan,
            "dcgan_mnist": dcgan_mnist, "sgan": sgan}


def build(name, seed=None):
    """The generator and discriminator of model `name`, initialised by its init spec:
    from MindSpore's generator, or bit-equal to the PyTorch twin when `seed` is given."""
    config = get_config(name)
    module = _MODULES[name]
    generator = module.Generator(**config.generator_kwargs)
    discriminator = module.Discriminator(**config.discriminator_kwargs)
    if seed is not None:
        init_from_seed(generator, config.init, seed)
        init_from_seed(discriminator, config.init, seed + 1)
    return generator, discriminator
