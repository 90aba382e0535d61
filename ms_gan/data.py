"""The image pipeline of the MindSpore faces tutorial (seed 001, create_dataset_imagenet;
docs/seeds.md#seed-001).

Twin: torch_gan/data.py. Both read the files of `scan_images` in the order of
`epoch_order`, so they see the same batches, and both decode, resize and crop every image
with parity.common.datasets.read_image (PIL), so they see the same pixels; images are
scaled to [-1, 1], the range of the generator's Tanh (the tutorial scales to [0, 1]).

vision.Resize (OpenCV-style bilinear, no antialiasing) differs from PIL's
bilinear resize, so the twins would train on other pixels: PIL it is, in a Python map
(docs/framework_differences.md#images). The paths go through a GeneratorDataset, not
ImageFolderDataset: that one is faster, but a corrupt file stops the whole pipeline and it
needs a `root/<class>/` layout; ds.config.ErrorSamplesMode.SKIP would skip the file, but it
is process-wide, reports through glog only and regroups the batches.
Throughput, measured: docs/bench_cpu.md#history.
"""
from functools import partial

import mindspore.dataset as ds
import numpy as np

from parity.common.datasets import check_channels, epoch_order, read_image, image_paths, to_unit_range, warn_unreadable
from parity.common.distributed import World, shard


def _read_or_skip(path, image_size, channels):
    """(uint8 image, True) of one file, read as the PyTorch twin reads it; (zeros, False)
    with a warning if unreadable.

    Decoded with PIL, not the tutorial's vision.Decode: on a corrupt file that one writes
    the file's bytes to ./abnormal_image.<ext> in the working directory."""
    path = str(path)
    try:
        return read_image(path, image_size, channels), np.bool_(True)
    except OSError:
        warn_unreadable(path)
        return np.zeros((channels, image_size, image_size), np.uint8), np.bool_(False)


def _finish_batch(images, ok, *labels):
    """uint8 (N, C, H, W) -> float32 (M, C, H, W) in [-1, 1], without the unreadable
    images (and their labels, if given). Mapped over whole batches: per_batch_map may not
    drop rows."""
    if not ok.all():
        images, labels = images[ok], tuple(label[ok] for label in labels)
    return (to_unit_range(images), *labels)


def create_pipeline(folder, image_size=64, channels=3, batch_size=128, seed=0, epoch=0,
                   shuffle=True, num_workers=2, drop_remainder=False, world=World()):
    """`folder`: a folder, or a list of image paths (datasets.readable_images). A pipeline of one column "image": float32 (N, channels, image_size, image_size) in
    [-1, 1], in the order of epoch_order(n, seed, epoch) (file order if not shuffle).
    Unreadable images are skipped with a warning, so a batch may come out short;
    get_dataset_size() is the number of batches."""
    check_channels(channels)
    paths = image_paths(folder)
    order = epoch_order(len(paths), seed, epoch) if shuffle else np.arange(len(paths))
    order = shard(order, batch_size, world)     # a data-parallel worker reads its part of each batch
    return _pipeline([paths[i] for i in order], None, image_size, channels, batch_size // world.size, num_workers,
                     drop_remainder)


def create_labelled_pipeline(paths, labels, image_size, channels, batch_size, num_workers=2):
    """Columns "image" (as create_pipeline's) and "label" (int32 (N,)): `paths` in the order
    given with the label each one shows the loss (parity.common.datasets.LabelledPlan)."""
    return _pipeline(paths, labels, image_size, channels, batch_size, num_workers, False)


def _pipeline(paths, labels, image_size, channels, batch_size, num_workers, drop_remainder):
    columns = ["path"] if labels is None else ["path", "label"]
    rows = [(np.array(str(p)),) for p in paths] if labels is None else \
        [(np.array(str(p)), np.int32(label)) for p, label in zip(paths, labels)]
    dataset = ds.GeneratorDataset(rows, columns, shuffle=False)
    workers = max(1, num_workers)                           # MindSpore has no 0 workers
    read = partial(_read_or_skip, image_size=image_size, channels=channels)
    dataset = dataset.map(read, "path", ["image", "ok"], num_parallel_workers=workers)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    kept = ["image"] + columns[1:]
    return dataset.map(_finish_batch, ["image", "ok"] + columns[1:], kept, num_parallel_workers=workers)
