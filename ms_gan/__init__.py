"""GAN tutorials in MindSpore. `torch_gan` is the PyTorch twin, module for module."""
from parity.common.environment import mindspore_defaults

mindspore_defaults()
