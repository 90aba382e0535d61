"""`python -m torch_gan generate`: a grid of images from a checkpoint of either framework.

Twin: ms_gan/generate.py.
"""
import torch

from parity.common.checkpoints import GENERATOR
from parity.common.configs import get_config
from parity.common.pictures import save_image_grid
from parity.common.run_folder import plural
from parity.common.streams import sample_noise
from torch_gan.checkpoint import FORMAT
from torch_gan.device import use_device


@torch.no_grad()
def generate(generator, noise):
    """G's images (numpy, N x C x H x W in [-1, 1]) for numpy `noise`, in eval mode
    (BatchNorm's running statistics, which it leaves alone)."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    images = generator(torch.from_numpy(noise).to(device)).cpu().numpy()
    generator.train(was_training)
    return images


def main(args):
    device = use_device(args.device)
    model, generator = FORMAT.load_network(args.checkpoint, GENERATOR, args.model)
    noise = sample_noise(args.seed, args.n, get_config(model).noise_shape)
    save_image_grid(generate(generator.to(device), noise), args.out)
    print(f"wrote {args.out}: {plural(args.n, 'image')} of {model} from {args.checkpoint}")
    return 0
