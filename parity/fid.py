"""`python -m parity fid REAL FAKE`: how far generated images are from real ones (docs/fid.md).

REAL is a folder of images; FAKE a folder, a .npy of float (N, C, H, W) images in [-1, 1],
or a generator checkpoint of either framework, which draws --n images from the noise
streams.sample_noise gives for --seed, with the framework whose file it is (ms_gan's or
torch_gan's checkpoint FORMAT.load_network and generate). --features inception (the default) is the
standard FID; --features digit the digit classifier's score. A folder's statistics are
cached (fid.source_statistics). Every input is opened and checked before any image
is scored, so a bad one stops the command with one line and writes nothing.
"""
import sys
import time
from pathlib import Path

from parity.common import fid, streams
from parity.common.checkpoints import GENERATOR
from parity.common.configs import get_config
from parity.common.files import write_json_atomic
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, framework_of_suffix

CHECKPOINT_SUFFIXES = tuple(suffix for record in FRAMEWORKS.values() for suffix in record.suffixes)


class CheckpointImages:
    """A source of --n images (fid.FolderImages' interface) drawn by the generator of a
    checkpoint, in the framework whose file it is, in eval mode."""

    def __init__(self, path, n, seed, model, device, role="FAKE"):
        if not path.is_file():
            raise FileNotFoundError(f"{role} checkpoint {path} does not exist")
        framework = framework_of_suffix(path)
        if framework.key == MINDSPORE:
            from ms_gan.checkpoint import FORMAT
            from ms_gan.device import use_device
            from ms_gan.generate import generate
            use_device(device)
            self.model, network = FORMAT.load_network(path, GENERATOR, model)
        else:
            from torch_gan.checkpoint import FORMAT
            from torch_gan.device import use_device
            from torch_gan.generate import generate
            target = use_device(device)
            self.model, network = FORMAT.load_network(path, GENERATOR, model)
            network = network.to(target)
        self.draw = lambda noise: generate(network, noise)
        config = get_config(self.model)
        self.noise = streams.sample_noise(seed, n, config.noise_shape)
        self.role, self.n, self.channels = role, n, config.image_shape[0]
        self.description = f"{n:,} images of {self.model} drawn from {path} ({framework.display}, seed {seed})"

    def batches(self, kind, batch_size):
        for start in range(0, self.n, batch_size):
            yield self.draw(self.noise[start:start + batch_size])

    def cache_key(self, kind):
        return None


def fake_source(args):
    path = Path(args.fake)
    if path.is_dir():
        return fid.FolderImages(path, args.n, "FAKE")
    if path.suffix.lower() == ".npy":
        return fid.ArrayImages(path, args.n, "FAKE")
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return CheckpointImages(path, args.n, args.seed, args.model, args.device)
    if not path.exists():
        raise FileNotFoundError(f"FAKE {path} does not exist")
    raise ValueError(f"FAKE {path} is neither a folder, a .npy of images nor a checkpoint "
                     f"({', '.join(CHECKPOINT_SUFFIXES)})")


def extractor(kind, device):
    """The features of `kind`; the Inception network is loaded at its first batch (not at
    all when both sides' statistics are cached)."""
    if kind == fid.DIGIT:
        return fid.DigitClassifier()
    loaded = []

    def extract(images):
        if not loaded:
            from parity.inception import InceptionFeatures
            from torch_gan.device import use_device
            loaded.append(InceptionFeatures(use_device(device)))
        return loaded[0](images)
    return extract


def main(args):
    start = time.perf_counter()
    if args.features == fid.INCEPTION:      # the device is checked before any work, as in every command
        from torch_gan.device import use_device
        use_device(args.device)
    sources, problems = [], []
    for source in (lambda: fid.FolderImages(args.real, args.n, "REAL"), lambda: fake_source(args)):
        try:
            sources.append(source())
        except ValueError as error:     # REAL's and FAKE's problems in one line, not one run at a time
            problems.append(str(error))
    if problems:
        raise ValueError("; ".join(problems))
    real, fake = sources
    cache_dir = None if args.no_cache else args.cache_dir
    result = fid.compare(real, fake, args.features, extractor(args.features, args.device), args.batch_size,
                             cache_dir)
    result["seconds"] = time.perf_counter() - start
    for note in result["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(fid.summary(result))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
