"""`python -m ms_gan generate`: a grid of images from a checkpoint of either framework.

Twin: torch_gan/generate.py.
"""
import mindspore as ms

from ms_gan.checkpoint import FORMAT
from ms_gan.device import use_device
from parity.common.checkpoints import GENERATOR
from parity.common.configs import get_config
from parity.common.pictures import save_image_grid
from parity.common.run_folder import plural
from parity.common.streams import sample_noise


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
    model, generator = FORMAT.load_network(args.checkpoint, GENERATOR, args.model)
    noise = sample_noise(args.seed, args.n, get_config(model).noise_shape)
    save_image_grid(generate(generator, noise), args.out)
    print(f"wrote {args.out}: {plural(args.n, 'image')} of {model} from {args.checkpoint}")
    return 0
