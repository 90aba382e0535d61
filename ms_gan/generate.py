"""`python -m ms_gan generate`: a grid of images from a checkpoint of either framework.

Twin: torch_gan/generate.py.
"""
import mindspore as ms

import ms_gan.models
from ms_gan.checkpoint import load_generator
from ms_gan.device import use_device
from parity.common import training
from parity.common.configs import get_config


def generate(generator, noise):
    """G's images (numpy, N x C x H x W in [-1, 1]) for numpy `noise`, in eval mode
    (BatchNorm's running statistics, which it leaves alone)."""
    was_training = generator.training
    generator.set_train(False)
    images = generator(ms.Tensor(noise)).asnumpy()
    generator.set_train(was_training)
    return images


def main(args):
    use_device(args.device)
    generator, _ = ms_gan.models.build(args.model)
    load_generator(args.checkpoint, generator, args.model)
    noise = training.sample_noise(args.seed, args.n, get_config(args.model).noise_shape)
    training.save_image_grid(generate(generator, noise), args.out)
    print(f"wrote {args.out}: {args.n} images from {args.checkpoint}")
    return 0
