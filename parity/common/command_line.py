"""The command line of `python -m ms_gan` and `python -m torch_gan` (the same flags in both),
and how a command's errors end: one line and an exit status."""
import argparse
import sys

from . import arguments, export
from .configs import MODELS
from .devices import ALLOWED as ALLOWED_DEVICES, device_name
from .distributed import rank_label
from .files import check_output_file
from .pictures import SAMPLE_COUNT
from .run_folder import NonFiniteLoss
from .run_settings import DEFAULTS, FID_N, RUN_DEFAULTS


def _by_data(key):
    return f"{DEFAULTS['embedded'][key]} on the embedded digits, {DEFAULTS['data'][key]} with --data"


def build_parser(prog, devices, default_device):
    """The command line of `python -m ms_gan` and `python -m torch_gan`: the same flags, the
    same device names (parity/common/devices.py: `devices` and `default_device` are taken
    in it)."""
    parser = argparse.ArgumentParser(prog=arguments.program(prog),
                                     description="Train a GAN, or draw images from a checkpoint.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_device = device_name(default_device)
    device_help = f"{ALLOWED_DEVICES} (default {default_device})"
    models = sorted(MODELS)

    train = commands.add_parser("train", help="train a model; outputs go to --out",
                                description="Train a GAN (default: cnn_gan on the embedded MNIST digits) and "
                                            "leave checkpoints, sample grids, metrics and plots in --out.")
    train.add_argument("--model", choices=models,
                       help=f"the model (default {_by_data('model')}; with --resume, the run's)")
    train.add_argument("--data", metavar="DIR",
                       help="folder of images (searched recursively); default: the embedded 5,000 MNIST digits")
    train.add_argument("--epochs", type=arguments.POSITIVE_INT, help=f"total epochs (default {_by_data('epochs')})")
    train.add_argument("--batch-size", type=arguments.POSITIVE_INT,
                       help=f"images per step (default {_by_data('batch_size')})")
    train.add_argument("--lr", type=arguments.LEARNING_RATE,
                       help=f"Adam's learning rate, G's and D's (default {RUN_DEFAULTS['lr']})")
    train.add_argument("--beta1", type=arguments.BETA,
                       help=f"Adam's beta1, G's and D's; beta2 is 0.999 (default {RUN_DEFAULTS['beta1']})")
    train.add_argument("--seed", type=arguments.SEED,
                       help="weights, data order, noise and dropout (default 0)")
    train.add_argument("--device", type=arguments.DEVICE, default=default_device, help=device_help)
    train.add_argument("--out", metavar="DIR", default=f"runs/{prog.split()[-1]}",
                       help="output folder (default %(default)s)")
    start = train.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from the last checkpoint in --out, with its settings (--model, --data, "
                            "--epochs, --batch-size, ...) unless given; a given one that differs is refused")
    start.add_argument("--force", action="store_true",
                       help="start over in an --out that holds a run: its checkpoints, samples, metrics "
                            "and plots are deleted first (without it such a folder is refused)")
    train.add_argument("--workers", type=arguments.COUNT, default=2, help="data loading workers (default 2)")
    train.add_argument("--log-every", type=arguments.COUNT, default=50, metavar="N",
                       help="print a line every N steps, 0 for never (default 50); metrics.jsonl has every step")
    train.add_argument("--labels", type=arguments.POSITIVE_INT, metavar="N",
                       help="models with a class head (sgan): the class loss sees the labels of N images "
                            "of --data, the same number of each class, chosen by --seed; the rest train "
                            "the adversarial head only (default: every label)")
    train.add_argument("--supervised", action="store_true",
                       help="models with a class head: train D alone as a plain classifier on the labelled "
                            "images (the same labelled batches as the GAN run): the baseline")
    train.add_argument("--no-dropout", action="store_true",
                       help="turn the model's dropout layers off (cnn_gan, dcgan_mnist, sgan); with them on, "
                            "the masks come from --seed, the same in both frameworks (default: on, as in "
                            "the tutorials)")
    train.add_argument("--fid-every", type=arguments.POSITIVE_INT, metavar="N",
                       help="score G every N epochs: digit FID (1-channel models) or Inception FID (3-channel) "
                            "of --fid-n images against --data, into metrics.jsonl and fid.png (default: never)")
    train.add_argument("--fid-n", type=arguments.FID_IMAGES, metavar="M",
                       help="images --fid-every scores, from a fixed noise, against as many of --data "
                            f"(default {FID_N})")
    train.add_argument("--mode", choices=("jit", "pynative"),
                       help="MindSpore only: compile the step with ms.jit (default) or run it eagerly "
                            "for debugging; PyTorch always runs eagerly and says so if given")

    from_file = "default: the checkpoint's; give it for a weights-only file that fits several models"
    generate = commands.add_parser("generate", help="draw a grid of images from a checkpoint of either framework")
    generate.add_argument("--checkpoint", required=True, metavar="PATH",
                          help="training or weights-only checkpoint, .ckpt (MindSpore) or .pt/.pth (PyTorch)")
    generate.add_argument("--n", type=arguments.POSITIVE_INT, default=SAMPLE_COUNT,
                          help="number of images (default %(default)s)")
    generate.add_argument("--out", default="grid.png", metavar="PNG",
                          help="output picture; an existing one is kept unless --force (default %(default)s)")
    generate.add_argument("--seed", type=arguments.SEED, default=0,
                          help="noise seed (default 0); a run's seed gives its sample grids' noise")
    generate.add_argument("--model", choices=models, help=f"the model ({from_file})")
    generate.add_argument("--device", type=arguments.DEVICE, default=default_device, help=device_help)

    export.add_parser(commands, models, from_file)

    classified = sorted(name for name, config in MODELS.items() if config.num_classes)
    evaluate = commands.add_parser("evaluate", help="class accuracy of a model with a class head "
                                                    f"({', '.join(classified)}) on a labelled image folder")
    evaluate.add_argument("--checkpoint", required=True, metavar="PATH",
                          help="training checkpoint, or weights-only checkpoint of D, of either framework")
    evaluate.add_argument("--data", required=True, metavar="DIR",
                          help="images in DIR/<class>/..., class a number (MNIST's test folder)")
    evaluate.add_argument("--model", choices=classified, help=f"the model ({from_file})")
    evaluate.add_argument("--batch-size", type=arguments.POSITIVE_INT, default=256,
                          help="images per batch (default %(default)s)")
    evaluate.add_argument("--workers", type=arguments.COUNT, default=2, help="data loading workers (default 2)")
    evaluate.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")
    evaluate.add_argument("--device", type=arguments.DEVICE, default=default_device, help=device_help)
    arguments.output_files(generate, "--out")
    arguments.output_files(evaluate, "--json")
    return parser


def run_command(command, args):
    """Run `command(args)`; errors a user can act on become one line and exit status 2,
    a NaN stop exit status 1."""
    rank = rank_label()     # "rank 1: " in a worker of a data-parallel job
    try:
        for flag, dest in getattr(args, "output_files", ()):
            if getattr(args, dest) is not None:
                check_output_file(getattr(args, dest), flag, args.force)
        return command(args)
    except NonFiniteLoss as error:
        print(f"{rank}stopped: {error}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError, FileNotFoundError, FileExistsError, NotADirectoryError, KeyError) as error:
        # str() of a KeyError is its repr, quotes and all
        print(f"{rank}error: {error.args[0] if isinstance(error, KeyError) and error.args else error}",
              file=sys.stderr)
        return 2
