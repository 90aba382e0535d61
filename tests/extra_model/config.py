"""The config entry of the extra model that tests/models/test_extra_model.py adds the way
docs/adding_a_model.md says: this entry and its two model files, nothing else."""
from parity.common.configs import ModelConfig
from parity.common.init_spec import TORCH_DEFAULT_INIT

TINY_GAN = ModelConfig(
    name="tiny_gan",
    noise_shape=(16,),
    image_shape=(1, 8, 8),
    init=TORCH_DEFAULT_INIT,
    generator_kwargs={"latent_dim": 16, "img_shape": (1, 8, 8)},
    discriminator_kwargs={"img_shape": (1, 8, 8)},
    ms_module="extra_model.ms_tiny_gan",        # outside ms_gan/models: the tests' own model
    torch_module="extra_model.torch_tiny_gan",
)
