"""Model configurations: one entry per model name the command lines take."""
from dataclasses import dataclass, field

from .init_spec import DCGAN_INIT, InitSpec

# PyTorch's convention: the weight of the *new* batch statistic in the running average.
# MindSpore's BatchNorm takes 1 - this (the weight of the old value): see PORTING_NOTES.md.
BATCHNORM_MOMENTUM = 0.1
BATCHNORM_EPS = 1e-5


@dataclass(frozen=True)
class ModelConfig:
    name: str
    noise_shape: tuple           # one noise sample, without the batch dimension
    image_shape: tuple           # (channels, height, width)
    init: InitSpec
    generator_kwargs: dict = field(default_factory=dict)
    discriminator_kwargs: dict = field(default_factory=dict)


DCGAN = ModelConfig(
    name="dcgan",
    noise_shape=(100, 1, 1),
    image_shape=(3, 64, 64),
    init=DCGAN_INIT,
    generator_kwargs={"nz": 100, "ngf": 64, "nc": 3},
    discriminator_kwargs={"ndf": 64, "nc": 3},
)

MODELS = {config.name: config for config in (DCGAN,)}


def get_config(name):
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None
