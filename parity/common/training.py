"""What both trainers share, written once: the command line, the run's output folder,
metrics, pictures, the progress bar, the NaN stop, the noise and the config.

A run's folder (`--out`):
    checkpoints/epoch_001.ckpt (.pt)   G, D, both Adam states, the epoch and the config,
                                       after every epoch (parity/common/checkpoints.py)
    samples/epoch_001.png              G on the run's fixed noise, after every epoch
    metrics.jsonl                      one line per step: losses, D(x), D(G(z)); with --fid-every,
                                       one line per scored epoch: its FID (parity/common/scoring.py)
    losses.png                         both losses over the iterations
    fid.png, fid_stats/                with --fid-every: the FID per epoch, the real images' statistics
    progress.gif                       the sample grids, one frame per epoch
Every file is written whole to a temporary name and then renamed (files.atomic_path).

Noise and dropout masks are drawn in numpy, so that runs are reproducible and resumable
and both frameworks are fed the same values: step noise from `[seed, epoch, step]`, the
fixed sample noise from `[seed, SAMPLE_STREAM]`, the dropout masks from
`[seed, DROPOUT_STREAM, epoch, step, call, layer]`.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

from . import arguments, export
from .checkpoints import config_model
from .configs import MODELS
from .devices import ALLOWED as ALLOWED_DEVICES, device_name
from .distributed import rank_label
from .files import atomic_path, check_output_file, write_text_atomic

SAMPLE_COUNT = 64            # images in a sample grid
GRID_COLUMNS = 8
SAMPLE_STREAM = 2**32 - 1    # the fixed noise's stream, never an epoch index
FID_STREAM = 2**32 - 2       # the fixed noise of --fid-every's images
DROPOUT_STREAM = 2**32 - 3   # the dropout masks' stream (datasets.LABELLED_STREAM is 2**32 - 2 too)
FID_N = 1000                 # --fid-n's default: images --fid-every scores
STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")   # what a train step returns
CLASSIFIER_STATS = ("loss_class",)                        # ... and one of D alone (--supervised)
# Settings that change what a run computes: a resumed run must have the same ones.
TRAJECTORY_KEYS = ("model", "data", "batch_size", "lr", "beta1", "seed", "labels", "supervised", "dropout")
# With --data: the faces tutorial, its num_epochs and batch_size. On the 5,000 embedded
# digits: seed 004's CNN GAN at batch 32, which draws digit strokes after 2 epochs (314
# steps); the faces DCGAN there lets D win for good in about half the seeds (measured,
# PyTorch twin: D(G(z)) 0.000 after 2 epochs for 3 of 6 seeds), and batch 128 lets it win
# (D(G(z)) 0.003 after 10 epochs, grey samples).
DEFAULTS = {"embedded": {"model": "cnn_gan", "epochs": 2, "batch_size": 32},
            "data": {"model": "dcgan", "epochs": 10, "batch_size": 128}}
RUN_DEFAULTS = {"lr": 2e-4, "beta1": 0.5, "seed": 0}      # of every run


# ---------------------------------------------------------------- command line

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


# ---------------------------------------------------------------- config

def resolve_data(data):
    """The image folder of a run: --data, or the embedded digits (written once)."""
    if data is None:
        from .datasets import embedded_digits
        return embedded_digits()
    return Path(data)


def train_model(args, run, stored_config):
    """The model a run trains: on --resume, the resumed run's (its last checkpoint's config,
    which `stored_config(path)` reads; a --model other than it is refused); otherwise
    --model, or the default of the data."""
    last = run.last_checkpoint() if args.resume else None
    resumed = config_model(last, stored_config(last), args.model) if last is not None else None
    return resumed or args.model or DEFAULTS["embedded" if args.data is None else "data"]["model"]


def take_resumed_settings(args, run, stored_config):
    """On --resume, fill each setting of `args` the command line did not give from the run's
    last checkpoint (`stored_config(path)` reads its config), so that `--resume` alone
    continues the run; a given one stays, and check_resumable refuses it if it differs."""
    last = run.last_checkpoint() if args.resume else None
    if last is None:
        return
    stored = stored_config(last)
    for key in ("data", "epochs", "batch_size", "lr", "beta1", "seed", "labels"):
        if getattr(args, key) is None and stored.get(key) is not None:
            setattr(args, key, stored[key])
    args.supervised = args.supervised or bool(stored.get("supervised"))
    args.no_dropout = args.no_dropout or stored.get("dropout") is False


def run_config(args, framework, data, model):
    """The run's settings as a JSON-ready dict, stored in every checkpoint."""
    defaults = DEFAULTS["embedded" if args.data is None else "data"]
    config = {"framework": framework, "model": model, "data": str(Path(data).resolve()),
              "epochs": defaults["epochs"] if args.epochs is None else args.epochs,
              "batch_size": defaults["batch_size"] if args.batch_size is None else args.batch_size,
              **{key: RUN_DEFAULTS[key] if getattr(args, key) is None else getattr(args, key) for key in RUN_DEFAULTS}}
    if args.no_dropout:
        config["dropout"] = False       # absent: on, as in checkpoints made before the flag
    if MODELS[model].num_classes:
        config.update(labels=args.labels, supervised=args.supervised)
    elif args.labels is not None or args.supervised:
        raise ValueError(f"--labels and --supervised are for models with a class head; {model} has none")
    return config


def labelled_plan(data, config, paths=None):
    """(image paths, LabelledPlan) of a run of a model with a class head (`paths`: the
    folder's images to take, default all)."""
    from .datasets import LabelledPlan, choose_labelled, labelled_images
    paths, labels = labelled_images(data, MODELS[config["model"]].num_classes, paths)
    labelled = None if config["labels"] is None else choose_labelled(labels, config["labels"], config["seed"])
    return paths, LabelledPlan(labels, config["batch_size"], config["seed"], labelled, config["supervised"])


def check_resumable(stored, config, path):
    """Raise unless a run with `config` may continue from a checkpoint made with `stored`."""
    changed = [f"--{k.replace('_', '-')} {stored.get(k)!r} -> {config.get(k)!r}"
               for k in TRAJECTORY_KEYS if stored.get(k) != config.get(k)]
    if changed:
        raise ValueError(f"cannot resume from {path}: the run was made with other settings "
                         f"({'; '.join(changed)}); give the same ones, or start afresh without --resume")


def plural(count, noun):
    """'1 epoch', '2 epochs'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# ---------------------------------------------------------------- noise

def step_noise(seed, epoch, step, batch, noise_shape):
    """G's input for step `step` (0-based) of epoch `epoch` (0-based)."""
    rng = np.random.default_rng([seed, epoch, step])
    return rng.standard_normal((batch, *noise_shape), dtype=np.float32)


def dropout_masks(seed, epoch, step, count, layers, calls):
    """The dropout masks of step `step` (0-based) of epoch `epoch` (0-based) for a global
    batch of `count` images: for each call of the network in the step (`calls`, in order),
    for each of its dropout layers (`layers`: [(p, channels)], in order), a float32
    (count, channels, 1, 1) array of 0 (dropped, with probability p) or 1 / (1 - p), as
    nn.Dropout2d scales what it keeps. Flat, call after call."""
    masks = []
    for call in range(calls):
        for index, (p, channels) in enumerate(layers):
            rng = np.random.default_rng([seed, DROPOUT_STREAM, epoch, step, call, index])
            keep = rng.random((count, channels), dtype=np.float32) >= p
            scale = np.float32(1.0) / np.float32(1.0 - p)
            masks.append(np.where(keep, scale, np.float32(0.0)).reshape(count, channels, 1, 1))
    return masks


def sample_noise(seed, n, noise_shape, stream=SAMPLE_STREAM):
    """The fixed noise of the sample grids (of --fid-every with FID_STREAM): the same for
    the whole run, across resumes, and in both frameworks."""
    rng = np.random.default_rng([seed, stream])
    return rng.standard_normal((n, *noise_shape), dtype=np.float32)


# ---------------------------------------------------------------- pictures

def image_grid(images, columns=GRID_COLUMNS, padding=2):
    """float (N, C, H, W) images in [-1, 1] -> one uint8 picture, (H', W', 3) or (H', W')
    for one channel, `columns` images a row, as torchvision's make_grid lays them out."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    cols = min(n, columns)
    grid = np.zeros((c, rows * (h + padding) + padding, cols * (w + padding) + padding), np.float32)
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        grid[:, top:top + h, left:left + w] = image
    grid = np.clip(np.round((grid + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images, path, columns=GRID_COLUMNS):
    from PIL import Image
    with atomic_path(path) as tmp:
        Image.fromarray(image_grid(images, columns)).save(tmp, format="PNG")


def save_loss_plot(records, path):
    """Both losses over the iterations, as the tutorial plots them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    iterations = [r["iteration"] for r in records]
    names = {"loss_g": "G", "loss_d": "D", "loss_class": "D's class loss"}
    for key, color in zip([k for k in names if k in records[0]], ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(iterations, [r[key] for r in records], label=names[key], color=color)
    ax.set_title("Generator and Discriminator Loss During Training" if "loss_g" in records[0]
                 else "Classifier Loss During Training")
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss")
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def save_gif(frames, path, ms_per_frame=500):
    """An animated GIF of the given PNG files, in order, looping."""
    from PIL import Image
    images = [Image.open(p).convert("RGB") for p in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=ms_per_frame, loop=0)


# ---------------------------------------------------------------- the run's folder

class NonFiniteLoss(RuntimeError):
    """A loss became NaN or infinite: the run stops, the last checkpoint stays."""


class Run:
    """A run's output folder, its per-step metrics and its progress bar.

    Opening it refuses an --out that is a file, or one that holds another run's files unless
    the run resumes or `force` starts it over; `start` makes the folder, before any step.
    Only a `writer` (a one-process run, or rank 0 of a data-parallel job) writes or prints
    anything; another worker's Run keeps the metrics, and stops on a NaN loss, alike."""

    def __init__(self, out, suffix, log_every=50, resume=False, force=False, writer=True):
        self.out = Path(out)
        self.writer = writer
        self.suffix = suffix              # checkpoint suffix of the framework: .ckpt or .pt
        self.log_every = log_every
        self.force = force
        self.records = []
        self.bar = None
        if self.out.exists() and not self.out.is_dir():
            raise NotADirectoryError(f"--out {self.out} is a file, not a folder")
        previous = self.previous_files()
        if previous and not (resume or force):
            raise FileExistsError(
                f"--out {self.out} holds a run ({len(previous)} files, e.g. {previous[-1]}); "
                f"continue it with --resume, start it over with --force, or choose another --out")

    # layout
    @property
    def metrics_path(self):
        return self.out / "metrics.jsonl"

    def checkpoint_path(self, epoch):
        return self.out / "checkpoints" / f"epoch_{epoch:03d}{self.suffix}"

    def sample_path(self, epoch):
        return self.out / "samples" / f"epoch_{epoch:03d}.png"

    def previous_files(self):
        """The files of this layout that a run (of either framework) left in the folder."""
        found = [self.out / name for name in ("metrics.jsonl", "losses.png", "fid.png", "progress.gif")]
        found = [path for path in found if path.exists()]
        found += sorted((self.out / "samples").glob("epoch_*.png"))
        found += sorted((self.out / "checkpoints").glob("epoch_*"))    # last: the latest is named
        return found

    def last_checkpoint(self):
        """The checkpoint of the highest epoch in the folder, or None."""
        found = {}
        for path in (self.out / "checkpoints").glob(f"epoch_*{self.suffix}"):
            match = re.fullmatch(rf"epoch_(\d+){re.escape(self.suffix)}", path.name)
            if match:
                found[int(match[1])] = path
        return found[max(found)] if found else None

    def resume(self, load, config):
        """Load the last checkpoint with `load(path) -> (epochs done, its config)`, after
        checking it was made with the same settings; returns the epochs done."""
        path = self.last_checkpoint()
        if path is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {self.out / 'checkpoints'}")
        start, stored = load(path)
        check_resumable(stored, config, path)
        if self.writer:
            print(f"resuming from {path} (epoch {start} done)")
        return start

    def finished(self, epochs_done, epochs):
        """Whether a resumed run has no epoch left to train (it says so)."""
        if epochs_done < epochs:
            return False
        if self.writer:
            print(f"run already finished ({plural(epochs_done, 'epoch')}) in {self.out}; "
                  f"a larger --epochs trains it on")
        return True

    # metrics and progress
    def start(self, epochs_done, epochs, steps_per_epoch):
        """Keep the metrics of the epochs already done (on resume) and open the bar."""
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        if not self.writer:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        if not epochs_done and self.force:    # here, so that a run refused on its data deletes nothing
            for path in self.previous_files():
                path.unlink()
        if epochs_done and self.metrics_path.exists():
            lines = self.metrics_path.read_text().splitlines()
            self.records = [r for r in map(json.loads, lines) if r["epoch"] <= epochs_done]
        from tqdm import tqdm
        self.bar = tqdm(total=epochs * steps_per_epoch, initial=epochs_done * steps_per_epoch,
                        unit="step", dynamic_ncols=True)

    def log_step(self, epoch, step, stats):
        """Record step `step` (0-based) of epoch `epoch` (0-based); stop on a NaN loss."""
        record = {"epoch": epoch + 1, "step": step + 1,
                  "iteration": epoch * self.steps_per_epoch + step + 1,
                  **{k: float(v) for k, v in stats.items()}}
        bad = [k for k in stats if k.startswith("loss") and not math.isfinite(record[k])]
        if bad:
            self.close()
            self.save_metrics()       # the good steps of this epoch too, to see what led there
            last = self.last_checkpoint()
            raise NonFiniteLoss(
                f"{' and '.join(bad)} {'are' if len(bad) > 1 else 'is'} "
                f"{', '.join(str(record[k]) for k in bad)} at epoch {epoch + 1}, step {step + 1} "
                f"(iteration {record['iteration']}); the last good checkpoint is "
                f"{last if last else 'none (no epoch finished)'}, left as it was")
        self.records.append(record)
        if not self.writer:
            return
        self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)
        losses = " ".join(f"{k} {record[k]:.4f}" for k in stats if k.startswith("loss"))
        self.bar.set_postfix_str(f"step {step + 1}/{self.steps_per_epoch} {losses}", refresh=False)
        self.bar.update()
        if self.log_every and (step % self.log_every == 0 or step + 1 == self.steps_per_epoch):
            where = f"[{epoch + 1:2d}/{self.epochs}][{step + 1:3d}/{self.steps_per_epoch}]"
            if "loss_g" in record:      # the tutorial's line
                self.bar.write(f"{where} Loss_D:{record['loss_d']:7.4f} Loss_G:{record['loss_g']:7.4f} "
                               f"D(x):{record['d_x']:.4f} D(G(z)):{record['d_g_z1']:.4f}/{record['d_g_z2']:.4f}")
            else:
                self.bar.write(f"{where} {losses}")

    def save_metrics(self):
        if not self.writer:
            return
        write_text_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in self.records))

    def save_samples(self, epoch, images):
        """After epoch `epoch` (1-based): its sample grid and the metrics so far."""
        save_image_grid(images, self.sample_path(epoch))
        self.save_metrics()

    def save_plots(self, epoch):
        """losses.png and progress.gif, up to epoch `epoch` (1-based)."""
        steps = [r for r in self.records if "step" in r]     # not --fid-every's records
        if steps:
            save_loss_plot(steps, self.out / "losses.png")
        frames = [self.sample_path(e) for e in range(1, epoch + 1) if self.sample_path(e).exists()]
        if frames:
            save_gif(frames, self.out / "progress.gif")
        if self.bar is not None:
            # The bar's rate and time left count steps; the epoch's end (samples, checkpoint,
            # plots, --fid-every's scoring) is other work: leave its time out of the rate.
            self.bar.unpause()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
