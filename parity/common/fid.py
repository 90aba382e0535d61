"""How good a generator's images are, framework-free: the Fréchet distance, image sources,
their statistics and its cache, and the digit score (docs/fid.md).

Two kinds of features:
    inception   the standard FID Inception's 2048 pool3 features (parity/inception.py,
                PyTorch): a MindSpore process gets them through `score_images`, which runs
                `python -m parity fid` in a subprocess
    digit       the 64 penultimate features of the small digit classifier shipped beside
                this file (digit_classifier.npz), run here in numpy: "digit FID", and the
                share of confidently classified images and the entropy of their classes

Images are float32 (N, C, H, W) in [-1, 1], as the generators give them and as
`datasets.load_image` reads a folder.
"""
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .datasets import embedded_digits_split, labelled_images, load_image, scan_images
from .files import atomic_path
from .subcommands import run_module

INCEPTION, DIGIT = "inception", "digit"
KINDS = (INCEPTION, DIGIT)
CHANNELS = {INCEPTION: 3, DIGIT: 1}        # what each kind's network reads
DIGIT_SIZE = 28
DIGIT_CLASSES = 10
CONFIDENT = 0.9                           # a class probability at least this is "confident"
SUBSET_SEED = 0                           # which --n images of a larger folder are read
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
DIGIT_CLASSIFIER = Path(__file__).with_name("digit_classifier.npz")
DIGIT_LAYERS = ("conv1", "conv2", "fc1", "fc2")
# The FID Inception file parity/inception.py loads (docs/fid.md), and what the features of
# that kind depend on besides the images: part of its cache keys.
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_VERSION = f"Inception sha256 {INCEPTION_SHA256}; pytorch-fid's bilinear resize to 299, [-1, 1]"


# ---------------------------------------------------------------- the Fréchet distance

def rounded_to_zero(eigenvalues):
    """Symmetric eigenvalues with those at rounding level, below numpy's matrix_rank
    tolerance (largest * size * float64 eps), negative ones included, set to 0: the square
    root would make rounding noise e into sqrt(e)."""
    tolerance = np.abs(eigenvalues).max(initial=0) * len(eigenvalues) * np.finfo(np.float64).eps
    return np.where(eigenvalues > tolerance, eigenvalues, 0.0)


def psd_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix (eigh)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(rounded_to_zero(values))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """The Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2), in float64:
    |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^1/2).

    tr((sigma1 sigma2)^1/2) is the sum of the square roots of the eigenvalues of
    sigma1^1/2 sigma2 sigma1^1/2, which has those of sigma1 sigma2 and is symmetric: its
    eigenvalues are real, so no imaginary residue arises (pytorch-fid's scipy.linalg.sqrtm
    of the product gives one and drops it); those at rounding level count as 0. The
    distance is never negative: rounding's -1e-13 is 0."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"statistics of other shapes: mu {mu1.shape} and {mu2.shape}, "
                         f"sigma {sigma1.shape} and {sigma2.shape}")
    root = psd_sqrt(sigma1)
    middle = root @ sigma2 @ root
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sum(np.sqrt(rounded_to_zero(eigenvalues)))
    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt))


# ---------------------------------------------------------------- statistics

@dataclass
class Statistics:
    """Mean and covariance (float64) of n images' features; for the digit kind also how
    many images the classifier assigns to each class and the share it is confident of."""
    mu: np.ndarray
    sigma: np.ndarray
    n: int
    histogram: np.ndarray = None
    confident: float = None

    def save(self, path):
        extra = {} if self.histogram is None else {"histogram": self.histogram, "confident": self.confident}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, mu=self.mu, sigma=self.sigma, n=self.n, **extra)

    @classmethod
    def load(cls, path):
        with np.load(path) as data:
            histogram = data["histogram"] if "histogram" in data else None
            confident = float(data["confident"]) if "confident" in data else None
            return cls(data["mu"], data["sigma"], int(data["n"]), histogram, confident)


def statistics(batches, extract):
    """Statistics of the features `extract(batch) -> (features, probabilities or None)`
    gives for every batch of `batches`."""
    features, probabilities = [], []
    for batch in batches:
        f, p = extract(batch)
        features.append(np.asarray(f, np.float64))
        if p is not None:
            probabilities.append(p)
    features = np.concatenate(features)
    if len(features) < 2:
        raise ValueError(f"a covariance needs 2 images or more, not {len(features)}")
    stats = Statistics(features.mean(axis=0), np.cov(features, rowvar=False), len(features))
    if probabilities:
        probabilities = np.concatenate(probabilities)
        stats.histogram = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
        stats.confident = float(np.mean(probabilities.max(axis=1) >= CONFIDENT))
    return stats


def class_entropy(histogram):
    """Entropy in bits of the share of images in each class: log2(10) = 3.32 for ten
    classes equally often, 0 when every image is one class."""
    share = np.asarray(histogram, np.float64) / np.sum(histogram)
    share = share[share > 0]
    return float(0.0 - np.sum(share * np.log2(share)))


# ---------------------------------------------------------------- image sources

def to_channels(images, channels):
    """float (N, C, H, W) images with `channels` channels: grey repeated to RGB, RGB to
    grey with PIL's "L" weights (ITU-R 601-2 luma)."""
    images = np.asarray(images, np.float32)
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=1)
    luma = np.array([299, 587, 114], np.float32) / np.float32(1000)
    return np.einsum("nchw,c->nhw", images, luma)[:, None]


def resize(images, size):
    """float (N, C, H, W) images resized to size x size with PIL's bilinear filter (on
    float32 pixels), as `datasets.read_image` resizes a file."""
    if images.shape[2:] == (size, size):
        return images
    return np.stack([[np.asarray(Image.fromarray(channel, "F").resize((size, size), Image.BILINEAR))
                      for channel in image] for image in np.asarray(images, np.float32)])


def prepare(images, kind):
    """Images as the network of `kind` reads them: its channels; 28 x 28 for the digit
    classifier (the Inception network resizes to 299 itself)."""
    images = to_channels(images, CHANNELS[kind])
    return resize(images, DIGIT_SIZE) if kind == DIGIT else images


class FolderImages:
    """--n images of a folder (all of them, or --n chosen with SUBSET_SEED), found and
    decoded as the trainers do (datasets.scan_images, datasets.load_image). `paths`: the
    folder's scan_images when the caller has it, so that the folder is not listed again."""

    def __init__(self, folder, n, role, paths=None):
        paths = scan_images(folder) if paths is None else paths
        if len(paths) < n:
            raise ValueError(f"{role} {folder} has {len(paths):,} images, fewer than --n {n:,}: "
                             f"give --n {len(paths)} or less")
        if n < len(paths):
            paths = [paths[i] for i in np.sort(np.random.default_rng(SUBSET_SEED).choice(len(paths), n, replace=False))]
        self.folder, self.role, self.n, self.paths = Path(folder), role, n, paths
        try:
            with Image.open(paths[0]) as first:
                self.channels = 1 if first.mode in GREY_MODES else 3
                self.size = min(first.size)
        except (OSError, ValueError) as error:
            raise ValueError(f"{role}: cannot read image {paths[0]}: {error}") from None
        self.description = f"{n:,} images of {folder}"
        self.cache_keys = {}    # kind -> cache_key's, hashed once: --fid-every scores the same images each epoch

    def batches(self, kind, batch_size):
        # Inception reads the images at their own size (the first one's shorter side); the
        # digit classifier at 28 x 28.
        size = DIGIT_SIZE if kind == DIGIT else self.size
        for start in range(0, self.n, batch_size):
            try:
                yield np.stack([load_image(p, size, CHANNELS[kind]) for p in self.paths[start:start + batch_size]])
            except OSError as error:
                raise ValueError(f"{self.role}: {error}") from None

    def cache_key(self, kind):
        """Hash of what the statistics depend on: the features, and the chosen files'
        names (relative to the folder) and bytes, in order."""
        if kind not in self.cache_keys:
            digest = hashlib.sha256(feature_version(kind).encode())
            for path in self.paths:
                digest.update(str(path.relative_to(self.folder)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            self.cache_keys[kind] = f"{kind}_n{self.n}_{digest.hexdigest()[:24]}"
        return self.cache_keys[kind]


class ArrayImages:
    """The first --n images of a float (N, C, H, W) array in [-1, 1], or of a .npy file
    holding one (as `score_images` writes for a subprocess)."""

    def __init__(self, images, n, role):
        name = images if isinstance(images, (str, Path)) else "the array"
        if isinstance(images, (str, Path)):
            try:
                images = np.load(images, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as error:
                raise ValueError(f"{role} {name} is not a .npy array file ({error})") from None
        if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype.kind != "f":
            raise ValueError(f"{role} {name} holds a {images.dtype} array of shape {images.shape}; "
                             f"images are float (N, C, H, W), C 1 or 3, in [-1, 1]")
        if len(images) < n:
            raise ValueError(f"{role} {name} holds {len(images):,} images, fewer than --n {n:,}: "
                             f"give --n {len(images)} or less")
        self.images, self.role, self.n, self.channels = images, role, n, images.shape[1]
        self.description = f"{n:,} images of {name}"

    def batches(self, kind, batch_size):
        for start in range(0, self.n, batch_size):
            batch = np.asarray(self.images[start:min(start + batch_size, self.n)], np.float32)
            if not np.isfinite(batch).all():
                raise ValueError(f"{self.role} {self.description}: images {start}-{start + len(batch) - 1} "
                                 f"hold NaN or Inf")
            yield batch

    def cache_key(self, kind):
        return None


# ---------------------------------------------------------------- comparing two sources

def default_cache_dir():
    """Where `python -m parity fid` keeps folders' statistics: $XDG_CACHE_HOME/ms-torch-gan/fid,
    ~/.cache/ms-torch-gan/fid without it."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ms-torch-gan" / "fid"


def feature_version(kind):
    if kind == INCEPTION:
        return INCEPTION_VERSION
    return "digit classifier sha256 " + hashlib.sha256(DIGIT_CLASSIFIER.read_bytes()).hexdigest()


def source_statistics(source, kind, extract, batch_size, cache_dir=None):
    """(Statistics, cache file or None, whether it was read from there) of `source`; a
    folder's are cached in cache_dir, keyed by its content, --n and the features."""
    key = source.cache_key(kind) if cache_dir is not None else None
    path = Path(cache_dir) / f"{key}.npz" if key else None
    if path is not None and path.is_file():
        return Statistics.load(path), path, True
    progress = tqdm(total=source.n, desc=f"{source.role} {kind} features", unit="img", disable=None, leave=False)
    with progress:
        batches = (prepare(batch, kind) for batch in source.batches(kind, batch_size))
        stats = statistics((b for b in batches if progress.update(len(b)) or True), extract)
    if path is not None:
        stats.save(path)
    return stats, path, False


def channel_notes(real, fake, kind):
    """One line for each conversion of channels the comparison makes."""
    if kind == INCEPTION and real.channels != fake.channels:
        grey = real if real.channels == 1 else fake
        return [f"{grey.role} is grayscale and {fake.role if grey is real else real.role} is RGB: "
                f"Inception reads both as RGB ({grey.role}'s grey repeated to three channels)"]
    if kind == DIGIT:
        return [f"{s.role} is RGB: converted to grayscale (PIL's L weights) for the digit classifier"
                for s in (real, fake) if s.channels == 3]
    return []


def compare(real, fake, kind, extract, batch_size=100, cache_dir=None):
    """The score of source `fake` against source `real` (FolderImages, ArrayImages or
    anything with their n, role, channels, description, batches and cache_key), as a
    JSON-ready dict; `extract` is the kind's feature extractor (batch -> (features,
    probabilities or None))."""
    result = {"features": kind, "n": fake.n, "real": real.description, "fake": fake.description,
              "notes": channel_notes(real, fake, kind)}
    for role, source in (("real", real), ("fake", fake)):
        stats, path, cached = source_statistics(source, kind, extract, batch_size, cache_dir)
        result[f"{role}_stats"] = {"cache": str(path) if path else None, "cached": cached}
        if stats.histogram is not None:
            result[f"{role}_stats"].update(confident=stats.confident, class_entropy_bits=class_entropy(stats.histogram),
                                           class_histogram=stats.histogram.tolist())
        result[f"{role}_statistics"] = stats
    result["fid"] = frechet_distance(result["real_statistics"].mu, result["real_statistics"].sigma,
                                     result["fake_statistics"].mu, result["fake_statistics"].sigma)
    del result["real_statistics"], result["fake_statistics"]
    return result


def summary(result):
    """The one line a result prints."""
    name = "FID" if result["features"] == INCEPTION else "digit FID"
    line = f"{name} {result['fid']:.4f}: {result['fake']} against {result['real']}"
    if result["features"] == DIGIT:
        line += "; " + "; ".join(
            f"{role.upper()} {result[f'{role}_stats']['confident']:.1%} confident (p >= {CONFIDENT}), "
            f"class entropy {result[f'{role}_stats']['class_entropy_bits']:.3f} of {np.log2(DIGIT_CLASSES):.3f} bits"
            for role in ("fake", "real"))
    return line


# ---------------------------------------------------------------- the digit classifier

def _conv3x3(x, weight, bias):
    """3x3 convolution, padding 1, stride 1, of (N, C, H, W) x by (O, C, 3, 3) weight."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, weight, optimize=True) + bias[:, None, None]


def _max_pool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


class DigitClassifier:
    """The digit classifier's forward pass in numpy (float64): conv 3x3 (16) - ReLU -
    max pool 2 - conv 3x3 (32) - ReLU - max pool 2 - linear (64) - ReLU [the features] -
    linear (10) [the class logits]; parity/digit_classifier.py trains the PyTorch twin.
    `weights`: {"conv1.weight": ..., ...} or a .npz holding them (default the shipped one)."""

    def __init__(self, weights=DIGIT_CLASSIFIER):
        if isinstance(weights, (str, Path)):
            with np.load(weights) as data:
                weights = {k: data[k] for k in data.files}
        names = [f"{layer}.{part}" for layer in DIGIT_LAYERS for part in ("weight", "bias")]
        self.weights = {name: np.asarray(weights[name], np.float64) for name in names}

    def forward(self, images):
        """(features (N, 64), logits (N, 10)) of float (N, 1, 28, 28) images in [-1, 1]."""
        w = self.weights
        x = np.asarray(images, np.float64)
        x = _max_pool2(np.maximum(_conv3x3(x, w["conv1.weight"], w["conv1.bias"]), 0))
        x = _max_pool2(np.maximum(_conv3x3(x, w["conv2.weight"], w["conv2.bias"]), 0))
        features = np.maximum(x.reshape(len(x), -1) @ w["fc1.weight"].T + w["fc1.bias"], 0)
        return features, features @ w["fc2.weight"].T + w["fc2.bias"]

    def __call__(self, images):
        """(features, class probabilities): the extractor of the digit kind."""
        features, logits = self.forward(images)
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return features, probabilities / probabilities.sum(axis=1, keepdims=True)

    def accuracy(self, images, labels, batch_size=500):
        predicted = np.concatenate([self.forward(images[i:i + batch_size])[1].argmax(axis=1)
                                    for i in range(0, len(images), batch_size)])
        return float(np.mean(predicted == np.asarray(labels)))


def load_digits(folder):
    """(float32 (N, 1, 28, 28) images in [-1, 1], int64 labels) of a folder/<class>/... layout."""
    paths, labels = labelled_images(folder, DIGIT_CLASSES)
    return np.stack([load_image(p, DIGIT_SIZE, 1) for p in paths]), labels


def digit_split(root=None):
    """(train, test) folders of the digit classifier: embedded_digits_split's, whose test
    folder holds EMBEDDED_TEST_PER_CLASS digits of each class, held out from training."""
    folder = embedded_digits_split(root)
    return folder / "train", folder / "test"


# ---------------------------------------------------------------- the API of the trainers

def score_images(images, real, kind, cache_dir=None, batch_size=100, device="cpu"):
    """The score (compare's dict) of generated float32 (N, C, H, W) `images` in [-1, 1]
    against N images of `real`, a folder or its FolderImages of N images, whose statistics
    are cached in `cache_dir` (None: not cached). The digit kind runs here, in numpy; the
    Inception kind runs `python -m parity fid` in a subprocess (it needs PyTorch), on the
    images written to a temporary .npy, so that a MindSpore process never imports torch."""
    n = len(images)
    if kind == DIGIT:
        real = real if isinstance(real, FolderImages) else FolderImages(real, n, "REAL")
        return compare(real, ArrayImages(np.asarray(images), n, "FAKE"), DIGIT, DigitClassifier(), batch_size,
                       cache_dir)
    real = real.folder if isinstance(real, FolderImages) else real
    with tempfile.TemporaryDirectory(prefix="fid_") as tmp:
        fake, out = Path(tmp) / "fake.npy", Path(tmp) / "result.json"
        np.save(fake, np.asarray(images, np.float32))
        cache = ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
        run_module(["parity", "fid", real, fake, "--n", n, "--batch-size", batch_size, "--device", device,
                    "--json", out, *cache])
        return json.loads(out.read_text())
