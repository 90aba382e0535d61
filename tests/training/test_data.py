"""The data layer: image folders, epoch order, the reference loader and both pipelines."""
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ms_gan.data
import torch_gan.data
from parity.common.datasets import (
    embedded_digits, epoch_order, load_image, scan_images, verify_images)

SIZES = [(96, 96)] * 20 + [(80, 100), (101, 77), (64, 67), (51, 90), (120, 96)]


def smooth_image(rng, width, height):
    """A face-like picture: smooth colour fields with some detail, as a JPEG compresses it."""
    low = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
    noisy = np.asarray(low, dtype=np.int16) + rng.integers(-10, 11, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """root/<class>/ with 25 JPEGs (some not square), 3 PNGs, one .JPG, one truncated
    JPEG and one text file."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(SIZES):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        smooth_image(rng, w, h).save(folder / f"{i:02d}.jpg", quality=90)
    for i in range(3):
        smooth_image(rng, 70, 70).save(root / "a" / f"p{i}.png")
    smooth_image(rng, 96, 96).save(root / "b" / "UPPER.JPG")
    whole = (root / "b" / "00.jpg").read_bytes()
    (root / "a" / "broken.jpg").write_bytes(whole[: len(whole) // 3])
    (root / "a" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def digits_root(tmp_path_factory):
    return tmp_path_factory.mktemp("digits")


@pytest.fixture(scope="module")
def few_digits(embedded_digit_folder, tmp_path_factory):
    """40 of the embedded MNIST digits, in their label folders."""
    folder = tmp_path_factory.mktemp("few_digits")
    for path in scan_images(embedded_digit_folder)[::125]:
        (folder / path.parent.name).mkdir(exist_ok=True)
        (folder / path.parent.name / path.name).write_bytes(path.read_bytes())
    return folder


def readable_in_order(folder, seed, epoch):
    paths = scan_images(folder)
    return [paths[i] for i in epoch_order(len(paths), seed, epoch) if paths[i].name != "broken.jpg"]


def ms_batches(*args, **kwargs):
    dataset = ms_gan.data.create_pipeline(*args, **kwargs)
    return dataset, [images for (images,) in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]


def torch_batches(*args, **kwargs):
    loader = torch_gan.data.create_pipeline(*args, **kwargs)
    return loader, [images.numpy() for images in loader]


# ---- folders, order, the reference loader ----

def test_scan_images_finds_images_by_suffix_recursively(faces):
    paths = scan_images(faces)
    assert len(paths) == 25 + 3 + 1 + 1
    assert paths == sorted(paths)
    assert {p.suffix for p in paths} == {".jpg", ".png", ".JPG"}
    assert verify_images(paths) == [faces / "a" / "broken.jpg"]


def test_scan_images_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scan_images(tmp_path / "nowhere")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="file.jpg"):
        scan_images(tmp_path / "file.jpg")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match=r"no images in .*empty .*\.jpg"):
        scan_images(tmp_path / "empty")


def test_epoch_order():
    a = epoch_order(1000, seed=3, epoch=0)
    assert sorted(a) == list(range(1000))
    assert np.array_equal(a, epoch_order(1000, seed=3, epoch=0))
    assert not np.array_equal(a, epoch_order(1000, seed=3, epoch=1))
    assert not np.array_equal(a, epoch_order(1000, seed=4, epoch=0))


def test_load_image(faces):
    path = faces / "a" / "21.jpg"                          # 101 x 77: resized to 83 x 64, cropped
    image = load_image(path, 64, 3)
    assert image.shape == (3, 64, 64) and image.dtype == np.float32
    assert image.min() >= -1.0 and image.max() <= 1.0
    resized = np.asarray(Image.open(path).convert("RGB").resize((83, 64), Image.BILINEAR), dtype=np.float32)
    assert np.array_equal(image.transpose(1, 2, 0), resized[:, 9:73] / np.float32(127.5) - 1)
    gray = load_image(path, 32, 1)
    assert gray.shape == (1, 32, 32)
    with pytest.raises(OSError, match="broken.jpg"):
        load_image(faces / "a" / "broken.jpg", 64, 3)


def test_extreme_pixels_map_to_minus_one_and_one(tmp_path):
    Image.fromarray(np.array([[0, 255]] * 2, np.uint8)).save(tmp_path / "x.png")
    assert set(np.unique(load_image(tmp_path / "x.png", 2, 1))) == {-1.0, 1.0}
    _, (ms,) = ms_batches(tmp_path, image_size=2, channels=1, batch_size=1, shuffle=False)
    assert set(np.unique(ms)) == {-1.0, 1.0}                # vision.Rescale would give 1.0000001


@pytest.mark.slow
def test_embedded_digits_written_once_and_reused(digits_root, capsys):
    folder = embedded_digits(digits_root)
    assert capsys.readouterr().out == \
        f"writing the 5,000 embedded MNIST digits to {folder} (once: later runs read them)\n"
    paths = scan_images(folder)
    assert len(paths) == 5000 and sorted({p.parent.name for p in paths}) == [str(i) for i in range(10)]
    assert all(len(list((folder / str(label)).iterdir())) == 500 for label in range(10))
    with Image.open(paths[0]) as image:
        assert image.size == (28, 28) and image.mode == "L"
    stamp = paths[0].stat().st_mtime_ns
    assert embedded_digits(digits_root) == folder and paths[0].stat().st_mtime_ns == stamp
    assert capsys.readouterr().out == ""                    # said once, when written
    paths[1].unlink()                                       # incomplete: written again
    assert len(scan_images(embedded_digits(digits_root))) == 5000
    assert [p.name for p in digits_root.iterdir()] == ["mnist_5k"]     # no temporary folder left


# ---- the two pipelines against the reference ----

def unreadable_lines(stderr):
    return [line for line in stderr.splitlines() if "broken.jpg" in line]


@pytest.mark.parametrize("epoch", [0, 1])
def test_pipelines_follow_epoch_order_and_match_the_reference(faces, epoch, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)   # MindSpore's own vision.Decode would leave ./abnormal_image.jpg
    expected = np.stack([load_image(p, 64, 3) for p in readable_in_order(faces, 5, epoch)])
    dataset, ms = ms_batches(faces, batch_size=8, seed=5, epoch=epoch, num_workers=2)
    loader, pt = torch_batches(faces, batch_size=8, seed=5, epoch=epoch, num_workers=0)
    # One line each, not Python's two-line warning.
    assert unreadable_lines(capfd.readouterr().err) == [
        f"warning: skipping unreadable image {faces / 'a' / 'broken.jpg'} (PIL could not decode it)"] * 2
    assert dataset.get_dataset_size() == len(loader) == math.ceil(30 / 8) == len(ms) == len(pt)
    # The batch that held the broken file is one short, in both.
    assert [len(b) for b in ms] == [len(b) for b in pt]
    assert sorted(n - len(b) for n, b in zip([8, 8, 8, 6], ms)) == [0, 0, 0, 1]
    for batches in (ms, pt):
        assert all(b.dtype == np.float32 and b.shape[1:] == (3, 64, 64) for b in batches)
        assert min(b.min() for b in batches) >= -1.0 and max(b.max() for b in batches) <= 1.0
    ms, pt = np.concatenate(ms), np.concatenate(pt)
    assert np.array_equal(pt, expected) and np.array_equal(ms, expected)
    assert list(tmp_path.iterdir()) == []


def test_the_twins_resize_jpegs_of_any_shape_alike(tmp_path):
    """The faces set's 96x96, and other sizes and aspect ratios, shrunk and enlarged."""
    rng = np.random.default_rng(1)
    sizes = [(96, 96), (96, 96), (200, 120), (77, 101), (64, 67), (51, 90), (300, 300), (40, 40), (128, 64)]
    for i, (w, h) in enumerate(sizes):
        smooth_image(rng, w, h).save(tmp_path / f"{i}.jpg", quality=90)
    for size, channels in ((64, 3), (32, 1)):
        _, ms = ms_batches(tmp_path, size, channels, batch_size=4, seed=2)
        _, pt = torch_batches(tmp_path, size, channels, batch_size=4, seed=2, num_workers=0)
        ms, pt = np.concatenate(ms), np.concatenate(pt)
        assert ms.shape == pt.shape == (len(sizes), channels, size, size)
        assert np.abs(ms - pt).max() <= 1 / 127.5       # within one grey level: in fact equal
        assert np.array_equal(ms, pt)
        assert pt.std() > 0.1                           # real pictures, not a constant


def test_pipelines_agree_on_grayscale_digits(few_digits):
    paths = scan_images(few_digits)
    expected = np.stack([load_image(paths[i], 32, 1) for i in epoch_order(len(paths), 0, 2)])
    _, ms = ms_batches(few_digits, image_size=32, channels=1, batch_size=16, epoch=2)
    _, pt = torch_batches(few_digits, image_size=32, channels=1, batch_size=16, epoch=2)
    assert [b.shape for b in ms] == [b.shape for b in pt] == [(16, 1, 32, 32)] * 2 + [(8, 1, 32, 32)]
    assert np.array_equal(np.concatenate(pt), expected)
    assert np.array_equal(np.concatenate(ms), expected)


def test_unshuffled_order_and_drop_remainder(few_digits):
    paths = scan_images(few_digits)
    dataset, ms = ms_batches(few_digits, 28, 1, batch_size=16, shuffle=False, drop_remainder=True)
    loader, pt = torch_batches(few_digits, 28, 1, batch_size=16, shuffle=False, drop_remainder=True)
    assert dataset.get_dataset_size() == len(loader) == len(ms) == len(pt) == 2
    expected = np.stack([load_image(p, 28, 1) for p in paths[:32]])
    assert np.array_equal(np.concatenate(ms), expected) and np.array_equal(np.concatenate(pt), expected)


@pytest.mark.slow
def test_torch_workers_skip_the_broken_file_with_a_warning(faces):
    # A warning raised in a worker process is printed to the worker's stderr. Under pytest
    # the forked workers inherit pytest's warning recorder and the message is lost, so
    # this runs in a fresh interpreter.
    script = (f"from torch_gan.data import create_pipeline\n"
              f"print(sum(len(b) for b in create_pipeline({str(faces)!r}, batch_size=8, num_workers=2)))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "29"
    assert unreadable_lines(run.stderr) == [
        f"warning: skipping unreadable image {faces / 'a' / 'broken.jpg'} (PIL could not decode it)"]


def test_batches_are_torch_tensors(few_digits):
    batch = next(iter(torch_gan.data.create_pipeline(few_digits, 28, 1, batch_size=4, num_workers=0)))
    assert isinstance(batch, torch.Tensor) and batch.dtype == torch.float32 and batch.shape == (4, 1, 28, 28)


@pytest.mark.parametrize("make", [ms_gan.data.create_pipeline, torch_gan.data.create_pipeline])
def test_missing_or_empty_folder_fails_at_creation(make, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        make(tmp_path / "empty")
    with pytest.raises(ValueError, match="channels"):
        make(tmp_path, channels=2)
