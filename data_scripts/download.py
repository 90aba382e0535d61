"""Fetch the tutorials' data sets into image folders that both pipelines read.

faces: the MindSpore tutorial's faces.zip (seed 001, docs/seeds.md#seed-001), 70,171 96x96 JPEGs -> <root>/faces/
mnist: the four MNIST idx files, checked by MD5 -> <root>/mnist/{train,test}/<label>/<i>.png

Files come through the `download` package, as in the tutorial. It writes `<file>.part`
and renames it when the byte count matches the server's Content-Length; a later run
resumes a `.part` with an HTTP Range request. A file is used only once it checks out
(the zip's CRCs and image count, the MD5s); folders appear by a rename once complete,
so an interrupted run never leaves something that passes for a finished one.
"""
import gzip
import hashlib
import os
import shutil
import socket
import tempfile
import urllib.error
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from download import download

from parity.common.datasets import IMAGE_SUFFIXES, write_digit_folder

DEFAULT_ROOT = Path("datasets")
TIMEOUT = 30.0

FACES_URL = "https://download.mindspore.cn/dataset/Faces/faces.zip"
FACES_ARCHIVE = "faces.zip"
FACES_COUNT = 70171

# torchvision's mirror and MD5s (torchvision.datasets.MNIST.resources).
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DownloadError(RuntimeError):
    """A data set could not be fetched; the message is one line meant for the user."""


@contextmanager
def _socket_timeout(seconds):
    # `download` passes its timeout to its size probe only; its transfer would wait forever.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _reason(error):
    """The network error behind `download`'s RuntimeError, in a few words; None if none."""
    while error is not None:
        if isinstance(error, urllib.error.HTTPError):
            return f"the server answered HTTP {error.code} {error.reason}"
        if isinstance(error, urllib.error.URLError):
            return f"unreachable: {error.reason}"
        if isinstance(error, (socket.timeout, ConnectionError, socket.gaierror)):
            return f"unreachable: {error!r}"
        error = error.__cause__ or error.__context__
    return None


def fetch(url, path, hint, timeout=TIMEOUT, verbose=True):
    """Download `url` to `path` (through `<path>.part`); on failure raise DownloadError
    naming the URL and `hint`, how to place the file by hand."""
    path = Path(path)
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _socket_timeout(timeout):
            download(url, str(path), kind="file", replace=True, timeout=timeout,
                     progressbar=verbose, verbose=verbose)
    except Exception as error:  # `download` wraps every failure in a bare RuntimeError
        part = Path(f"{path}.part")
        kept = f" (partial download kept as {part.name}, resumed next run)" if part.exists() else ""
        for folder in created:                              # innermost first; only if empty
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        reason = _reason(error) or str(error).replace("\n", " ")
        raise DownloadError(f"could not download {url}: {reason}{kept}; {hint}") from error
    return path


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_images(folder):
    """Image files under `folder` (0 if it does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def zip_is_intact(path):
    """True if `path` is a zip whose every member passes its CRC check."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _replace_folder(tmp, folder):
    """Put the complete folder `tmp` at `folder`, replacing an incomplete one."""
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


def extract_images(archive, folder, expected):
    """Unzip `archive` beside `folder`, check it holds `expected` images, then rename the
    folder of images (the archive's single top folder if it has one) onto `folder`."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(tmp)
        found = count_images(tmp)
        if found != expected:
            raise DownloadError(f"{archive} holds {found} images, expected {expected}; "
                                f"delete it and rerun to fetch it again")
        entries = list(tmp.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
        _replace_folder(top, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def fetch_faces(root=DEFAULT_ROOT, url=FACES_URL, expected=FACES_COUNT, timeout=TIMEOUT, verbose=True):
    """<root>/faces with `expected` images, from `url`, or from <root>/faces.zip if it is
    already there and intact. Does nothing when the folder is complete."""
    root = Path(root)
    folder = root / "faces"
    if count_images(folder) == expected:
        if verbose:
            print(f"{folder} is complete ({expected} images)")
        return folder
    archive = root / FACES_ARCHIVE
    fetched = False
    if not zip_is_intact(archive):
        archive.unlink(missing_ok=True)
        fetch(url, archive, f"put {FACES_ARCHIVE} in {root} and rerun", timeout, verbose)
        fetched = True
        if not zip_is_intact(archive):
            archive.unlink()
            raise DownloadError(f"{url} gave a corrupt or incomplete zip (removed); rerun to fetch it again")
    extract_images(archive, folder, expected)
    if fetched:
        archive.unlink()
    if verbose:
        print(f"{folder}: {expected} images")
    return folder


def _read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    found, ndim = int.from_bytes(data[:4], "big"), data[3]
    if found != magic:
        raise ValueError(f"{path} is not an idx file of the expected kind (magic {found}, expected {magic})")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist_arrays(root=DEFAULT_ROOT, split="train"):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of MNIST's `split` ("train" or
    "test"), from the idx files fetch_mnist keeps in <root>/mnist/raw."""
    if split not in MNIST_SPLITS:
        raise ValueError(f"split must be one of {', '.join(MNIST_SPLITS)}, not {split!r}")
    raw = Path(root) / "mnist" / "raw"
    image_file, label_file = MNIST_SPLITS[split]
    for name in (image_file, label_file):
        if not (raw / name).is_file():
            raise FileNotFoundError(f"{raw / name} is missing; run `python -m data_scripts mnist --root {root}`")
    images = _read_idx(raw / image_file, 2051)
    labels = _read_idx(raw / label_file, 2049).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{raw}: {len(images)} {split} images but {len(labels)} labels")
    return images, labels


def fetch_mnist(root=DEFAULT_ROOT, base_url=MNIST_URL, md5s=MNIST_MD5, timeout=TIMEOUT, verbose=True):
    """<root>/mnist/{train,test}/<label>/<i>.png from the four idx files at `base_url`,
    each checked against `md5s`; files already in <root>/mnist/raw with the right MD5 are
    not fetched again, and complete folders are not written again."""
    root = Path(root)
    raw = root / "mnist" / "raw"
    for name, md5 in md5s.items():
        path = raw / name
        if path.is_file() and md5_of(path) == md5:
            continue
        path.unlink(missing_ok=True)
        url = base_url.rstrip("/") + "/" + name
        fetch(url, path, f"put {name} in {raw} and rerun", timeout, verbose)
        found = md5_of(path)
        if found != md5:
            path.unlink()
            raise DownloadError(f"{url} has MD5 {found}, expected {md5}: refused and removed; rerun to fetch it again")
    for split in MNIST_SPLITS:
        folder = root / "mnist" / split
        images, labels = load_mnist_arrays(root, split)
        if count_images(folder) == len(labels):
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f".{split}.", suffix=".tmp", dir=folder.parent))
        try:
            write_digit_folder(tmp, images, labels)
            _replace_folder(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if verbose:
            print(f"{folder}: {len(labels)} images")
    return root / "mnist"
