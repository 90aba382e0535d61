"""The image pipeline: the twin of ms_gan/data.py, as a torch DataLoader.

Both read the files of `scan_images` in the order of `epoch_order`, so they see the same
batches; an unreadable image is dropped from its batch with a one-line warning in both.
Each image is read by parity.common.datasets.load_image (PIL), as the MindSpore twin reads
it: torchvision's CenterCrop rounds the crop offset where MindSpore's floors it, so the
shared function, not torchvision, defines the resize and the crop.

The workers prefetch 4 batches each while the main process trains (throughput, measured:
docs/bench_cpu.md#history).
A warning about an unreadable image is printed by the worker that met it (tqdm.write, one line).
"""
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from parity.common.datasets import check_channels, epoch_order, load_image, image_paths, warn_unreadable
from parity.common.distributed import World, shard


class ImageFiles(Dataset):
    """Images of `paths` as float32 (channels, size, size) tensors, None if unreadable;
    with `labels`, (image, label) pairs."""

    def __init__(self, paths, image_size, channels, labels=None):
        self.paths, self.image_size, self.channels, self.labels = paths, image_size, channels, labels

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        path = self.paths[index]
        try:
            image = torch.from_numpy(load_image(path, self.image_size, self.channels))
        except OSError:
            warn_unreadable(path)
            return None
        return image if self.labels is None else (image, int(self.labels[index]))


class _Collate:
    """Stack a batch without its unreadable images (a class, so that workers can pickle it)."""

    def __init__(self, image_shape, labelled):
        self.image_shape, self.labelled = image_shape, labelled

    def __call__(self, items):
        items = [item for item in items if item is not None]
        if not self.labelled:
            return torch.stack(items) if items else torch.empty((0, *self.image_shape))
        images = torch.stack([image for image, _ in items]) if items else torch.empty((0, *self.image_shape))
        return images, torch.tensor([label for _, label in items], dtype=torch.int64)


def create_pipeline(folder, image_size=64, channels=3, batch_size=128, seed=0, epoch=0,
                  shuffle=True, num_workers=2, drop_remainder=False, world=World()):
    """`folder`: a folder, or a list of image paths (datasets.readable_images). A DataLoader of float32 (N, channels, image_size, image_size) tensors in [-1, 1], in
    the order of epoch_order(n, seed, epoch) (file order if not shuffle); len() is the
    number of batches. Unreadable images are skipped with a warning (in the worker)."""
    check_channels(channels)
    paths = image_paths(folder)
    order = epoch_order(len(paths), seed, epoch) if shuffle else np.arange(len(paths))
    order = shard(order, batch_size, world)     # a data-parallel worker reads its part of each batch
    return _pipeline([paths[i] for i in order], None, image_size, channels, batch_size // world.size, num_workers,
                   drop_remainder)


def create_labelled_pipeline(paths, labels, image_size, channels, batch_size, num_workers=2):
    """Batches of (images as create_pipeline's, int64 (N,) labels): `paths` in the order
    given with the label each one shows the loss (parity.common.datasets.LabelledPlan)."""
    return _pipeline(paths, labels, image_size, channels, batch_size, num_workers, False)


def _pipeline(paths, labels, image_size, channels, batch_size, num_workers, drop_remainder):
    return DataLoader(
        ImageFiles(paths, image_size, channels, labels), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, collate_fn=_Collate((channels, image_size, image_size), labels is not None),
        drop_last=drop_remainder, persistent_workers=False,
        prefetch_factor=4 if num_workers else None)
