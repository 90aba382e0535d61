"""The image pipeline of the MindSpore faces tutorial (seeds/001, create_dataset_imagenet).

Twin: torch_gan/data.py. Both read the files of `scan_images` in the order of
`epoch_order`, so they see the same batches; images are scaled to [-1, 1], the range of
the generator's Tanh (the tutorial scales to [0, 1]).

Measured on a 2-core x86_64 CPU (shared, noisy: compare ratios), 4,000 faces-like 96x96
RGB JPEGs (4 KB each, as in faces.zip) -> 64x64, batch 64, num_workers 2, one pass,
mindspore 2.8.0 (python bench scripts iterating create_tuple_iterator(output_numpy=True)):
    this pipeline (GeneratorDataset of paths, decode in a Python map)   1,500 img/s
    (decoding with PIL instead of vision.Decode measured the same, 1,313 against 1,209)
    the tutorial's C++ Decode inside the map (a bad file stops it)      2,300 img/s
    ImageFolderDataset(decode=True) with a SubsetSampler                4,600 img/s
    GeneratorDataset reading through the reference `load_image`           500 img/s
ImageFolderDataset is fastest, but a corrupt file stops the whole pipeline and it needs a
`root/<class>/` layout; ds.config.ErrorSamplesMode.SKIP would skip the file, but it is
process-wide, reports through glog only and regroups the batches. 1,500 img/s is ~25x
what a training step takes (PORTING_NOTES.md), and every stage prefetches in its own
threads, so the pipeline stays off the critical path.

vision.Resize (OpenCV-style bilinear, no antialiasing) differs from PIL's bilinear resize
of the reference by up to 7 gray levels (0.055 in [-1, 1]) on 96 -> 64 faces-like
images; tests/test_data.py bounds it.
"""
import warnings

import mindspore.dataset as ds
import mindspore.dataset.vision as vision
import numpy as np
from PIL import Image

from parity.common.datasets import check_channels, epoch_order, scan_images

def _decode_or_skip(path):
    """Read and decode one file as RGB; flag it if unreadable.

    Decoded with PIL, not the tutorial's vision.Decode: on a corrupt file that one writes
    the file's bytes to ./abnormal_image.<ext> in the working directory."""
    path = str(path)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")), np.bool_(True)
    except (OSError, ValueError, Image.DecompressionBombError):
        warnings.warn(f"skipping unreadable image {path} (PIL could not decode it)", RuntimeWarning)
        return np.zeros((1, 1, 3), np.uint8), np.bool_(False)


def _finish_batch(images, ok, *labels):
    """uint8 (N, C, H, W) or (N, H, W) -> float32 (M, C, H, W) in [-1, 1], without the
    unreadable images (and their labels, if given). Mapped over whole batches:
    per_batch_map may not drop rows."""
    if not ok.all():
        images, labels = images[ok], tuple(label[ok] for label in labels)
    if images.ndim == 3:
        images = images[:, None]
    # The reference's arithmetic: vision.Rescale(1/127.5, -1) gives 1.0000001 for 255.
    return (images.astype(np.float32) / np.float32(127.5) - np.float32(1.0), *labels)


def create_dataset(folder, image_size=64, channels=3, batch_size=128, seed=0, epoch=0,
                   shuffle=True, num_workers=2, drop_remainder=False):
    """A pipeline of one column "image": float32 (N, channels, image_size, image_size) in
    [-1, 1], in the order of epoch_order(n, seed, epoch) (file order if not shuffle).
    Unreadable images are skipped with a warning, so a batch may come out short;
    get_dataset_size() is the number of batches."""
    check_channels(channels)
    paths = scan_images(folder)
    order = epoch_order(len(paths), seed, epoch) if shuffle else np.arange(len(paths))
    return _pipeline([paths[i] for i in order], None, image_size, channels, batch_size, num_workers,
                     drop_remainder)


def create_labelled_dataset(paths, labels, image_size, channels, batch_size, num_workers=2):
    """Columns "image" (as create_dataset's) and "label" (int32 (N,)): `paths` in the order
    given with the label each one shows the loss (parity.common.datasets.LabelledPlan)."""
    return _pipeline(paths, labels, image_size, channels, batch_size, num_workers, False)


def _pipeline(paths, labels, image_size, channels, batch_size, num_workers, drop_remainder):
    columns = ["path"] if labels is None else ["path", "label"]
    rows = [(np.array(str(p)),) for p in paths] if labels is None else \
        [(np.array(str(p)), np.int32(label)) for p, label in zip(paths, labels)]
    dataset = ds.GeneratorDataset(rows, columns, shuffle=False)
    workers = max(1, num_workers)                           # MindSpore has no 0 workers
    dataset = dataset.map(_decode_or_skip, "path", ["image", "ok"], num_parallel_workers=workers)
    # Decode gives RGB. ConvertColor and PIL's "L" agree on gray images and differ by one
    # level on 0.1% of random colours.
    gray = [vision.ConvertColor(vision.ConvertMode.COLOR_RGB2GRAY)] if channels == 1 else []
    transforms = gray + [vision.Resize(image_size), vision.CenterCrop(image_size), vision.HWC2CHW()]
    dataset = dataset.map(transforms, "image", num_parallel_workers=workers)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    kept = ["image"] + columns[1:]
    return dataset.map(_finish_batch, ["image", "ok"] + columns[1:], kept, num_parallel_workers=workers)
