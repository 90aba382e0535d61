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


def eval_graph(generator):
    """G's eval-mode forward as one ms.jit graph, compiled on its first call (0.1-0.8 s for
    the six models) and kept on the generator. Its images are bit-equal to PyNative's
    (tests/models/test_eval_graph.py); it runs in about half the time (docs/bench_ops.md#generation).
    The graph reads G's parameters and BatchNorm statistics as the train step updates them in
    place; a parameter given new memory (`set_data`, as load_param_into_net does) is not
    seen by a graph compiled before, so a new graph is compiled then."""
    memory = tuple(param.data_ptr() for param in generator.get_parameters())
    kept = generator.__dict__.get("_eval_graph")
    if kept is None or kept[0] != memory:
        @ms.jit
        def graph(noise):
            return generator(noise)
        kept = generator.__dict__["_eval_graph"] = (memory, graph)
    return kept[1]


def generate(generator, noise):
    """G's images (numpy, N x C x H x W in [-1, 1]) for numpy `noise`, in eval mode
    (BatchNorm's running statistics, which it leaves alone)."""
    was_training = generator.training
    if was_training:                  # set_train walks every cell: 0.02-0.05 ms a call
        generator.set_train(False)
    images = eval_graph(generator)(ms.Tensor(noise)).asnumpy()
    if was_training:
        generator.set_train(True)
    return images


def main(args):
    use_device(args.device)
    model, generator = FORMAT.load_network(args.checkpoint, GENERATOR, args.model)
    noise = sample_noise(args.seed, args.n, get_config(model).noise_shape)
    save_image_grid(generate(generator, noise), args.out)
    print(f"wrote {args.out}: {plural(args.n, 'image')} of {model} from {args.checkpoint}")
    return 0
