"""The seeded inputs the parity tools feed both twins (parity/twins.py), and `parity dump`
each framework on its own machine."""
import numpy as np


def draw_inputs(config, batch, seed):
    """Noise for G and real-like images in [-1, 1] for D, from `seed`."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, *config.noise_shape), dtype=np.float32)
    real = rng.uniform(-1.0, 1.0, (batch, *config.image_shape)).astype(np.float32)
    return z, real


def draw_labels(config, batch, seed):
    """Class labels of the real images for models with a class head (sgan), else None."""
    if not config.num_classes:
        return None
    return np.random.default_rng(seed).integers(0, config.num_classes, batch).astype(np.int32)
