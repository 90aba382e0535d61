"""Model configurations: one entry per model name the command lines take.

A config is everything the project knows of a model: its shapes, init, loss, the
tutorial it follows, and the two modules that define its `Generator` and
`Discriminator`, one a framework. Both registries (`ms_gan.models.build`,
`torch_gan.models.build`), the converter and the tests iterate `MODELS`, so a model
added here (docs/adding_a_model.md) is built, checked, converted and trained by them.
"""
import importlib
from dataclasses import dataclass, field

from .frameworks import MINDSPORE, TORCH
from .init_spec import DCGAN_CONV_TORCH_DEFAULT_INIT, DCGAN_INIT, TORCH_DEFAULT_INIT, InitSpec

# PyTorch's convention: the weight of the *new* batch statistic in the running average.
# MindSpore's BatchNorm takes 1 - this (the weight of the old value): docs/framework_differences.md#batchnorm-momentum.
BATCHNORM_MOMENTUM = 0.1
BATCHNORM_EPS = 1e-5
# Seeds 003/004 write BatchNorm2d(128, 0.8): the second positional argument is eps in both
# frameworks, not momentum (docs/framework_differences.md#batchnorm-eps).
SEED_BATCHNORM_EPS = 0.8


@dataclass(frozen=True)
class ModelConfig:
    name: str
    noise_shape: tuple           # one noise sample, without the batch dimension
    image_shape: tuple           # (channels, height, width)
    init: InitSpec
    generator_kwargs: dict = field(default_factory=dict)
    discriminator_kwargs: dict = field(default_factory=dict)
    loss: str = "bce"            # "bce": D(x) is a probability; "sgan": D(x) is (probability, class logits)
    num_classes: int = 0         # real classes of the sgan class head (it has num_classes + 1 outputs)
    noise: str = "normal"        # the training noise: N(0, 1) of noise_shape
    seed: str = ""               # the tutorial the model follows (docs/seeds.md)
    fixes: tuple = ()            # the seed's bugs this port fixes
    ms_module: str = ""          # the module of its MindSpore networks (default ms_gan.models.<name>)
    torch_module: str = ""       # ... of its PyTorch twins (default torch_gan.models.<name>)

    def __post_init__(self):
        object.__setattr__(self, "ms_module", self.ms_module or f"ms_gan.models.{self.name}")
        object.__setattr__(self, "torch_module", self.torch_module or f"torch_gan.models.{self.name}")


DCGAN = ModelConfig(
    name="dcgan",
    noise_shape=(100, 1, 1),
    image_shape=(3, 64, 64),
    init=DCGAN_INIT,
    generator_kwargs={"nz": 100, "ngf": 64, "nc": 3},
    discriminator_kwargs={"ndf": 64, "nc": 3},
)

GAN = ModelConfig(
    name="gan",
    noise_shape=(100,),
    image_shape=(1, 28, 28),
    init=TORCH_DEFAULT_INIT,     # the seed relies on PyTorch's default init
    generator_kwargs={"latent_dim": 100, "img_shape": (1, 28, 28)},
    discriminator_kwargs={"img_shape": (1, 28, 28)},
    seed="002",
    fixes=("G returns (N, 1, 28, 28) images, not (N, 28, 28): the shape D and the data use",),
)

GAN_BN = ModelConfig(
    name="gan_bn",
    noise_shape=(100,),
    image_shape=(1, 32, 32),
    init=TORCH_DEFAULT_INIT,     # seed 004 applies no init function
    generator_kwargs={"latent_dim": 100, "img_shape": (1, 32, 32)},
    discriminator_kwargs={"img_shape": (1, 32, 32)},
    seed="004 --type GAN",
)

CNN_GAN = ModelConfig(
    name="cnn_gan",
    noise_shape=(100,),
    image_shape=(1, 32, 32),
    init=TORCH_DEFAULT_INIT,     # seed 004 applies no init function
    generator_kwargs={"latent_dim": 100, "img_shape": (1, 32, 32)},
    discriminator_kwargs={"img_shape": (1, 32, 32)},
    seed="004 --type DCGAN",
)

DCGAN_MNIST = ModelConfig(
    name="dcgan_mnist",
    noise_shape=(100,),
    image_shape=(1, 28, 28),
    init=TORCH_DEFAULT_INIT,     # seed 000 applies no init function
    generator_kwargs={"latent_dim": 100},
    discriminator_kwargs={},
    seed="000",
    fixes=("D's dropout is a module (nn.Dropout2d), not F.dropout2d: eval mode turns it off",),
)

SGAN = ModelConfig(
    name="sgan",
    noise_shape=(100,),
    image_shape=(1, 32, 32),
    init=DCGAN_CONV_TORCH_DEFAULT_INIT,   # the seed's weights_init_normal
    generator_kwargs={"latent_dim": 100, "img_shape": (1, 32, 32)},
    discriminator_kwargs={"img_shape": (1, 32, 32), "num_classes": 10},
    loss="sgan",
    num_classes=10,
    seed="003",
    fixes=("no Softmax before the cross-entropy: D's class head returns logits, the loss applies "
           "log-softmax once",
           "noise is N(0, 1) (the seed draws torch.rand, uniform on [0, 1))",
           "the unused label_emb is dropped",
           "BatchNorm beta starts at 0 (the seed's normal_(bias, 0.0) draws N(0, 1))"),
)

MODELS = {config.name: config for config in (DCGAN, GAN, GAN_BN, CNN_GAN, DCGAN_MNIST, SGAN)}


def register(config):
    """Add a model to MODELS (what a new model's config does, or a test's extra model)."""
    if config.name in MODELS:
        raise ValueError(f"model {config.name!r} is already registered")
    MODELS[config.name] = config
    return config


# The ModelConfig field that names each framework's model module.
MODULE_FIELDS = {MINDSPORE: "ms_module", TORCH: "torch_module"}


def build_networks(name, framework, init_from_seed, seed=None):
    """(generator, discriminator) of model `name` from its `framework`'s (MINDSPORE or TORCH)
    module, built with the config's kwargs; with a `seed`, each initialised by
    `init_from_seed(net, spec, seed)` (G from seed, D from seed + 1), the same in both
    frameworks. Each framework's `models.build` calls this."""
    config = get_config(name)
    module = importlib.import_module(getattr(config, MODULE_FIELDS[framework]))
    generator = module.Generator(**config.generator_kwargs)
    discriminator = module.Discriminator(**config.discriminator_kwargs)
    if seed is not None:
        init_from_seed(generator, config.init, seed)
        init_from_seed(discriminator, config.init, seed + 1)
    return generator, discriminator


def get_config(name):
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None
