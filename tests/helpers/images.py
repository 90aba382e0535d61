"""The tests' tiny image folders, written the same way wherever a test needs one."""
import shutil

import numpy as np
from PIL import Image


def noise_images(folder, count, shape):
    """`count` PNGs 00.png, 01.png, ... of seeded uniform noise, each an array of `shape`
    ((height, width) grey or (height, width, 3) RGB), in `folder`; the folder."""
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


def digit_subset(source, folder, labels, per_class):
    """The first `per_class` digits (by name) of each of `labels` from the embedded digits
    `source`, copied into `folder`/<label>/ (MNIST's layout); the folder."""
    for label in labels:
        (folder / str(label)).mkdir()
        for path in sorted((source / str(label)).glob("*.png"))[:per_class]:
            shutil.copy(path, folder / str(label) / path.name)
    return folder
