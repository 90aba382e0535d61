"""`python -m parity fid` and the scores behind it (docs/fid.md): the Fréchet distance
against closed forms and pytorch-fid's, the Inception network against pytorch-fid's, the
done-when values (halves of the digits small, digits against noise large, a folder
against itself 0), the statistics cache, checkpoints of both frameworks, bad inputs."""
import ast
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch
from PIL import Image

import ms_gan.models
import parity.__main__
import torch_gan.models
from parity.common import fid as common_fid
from parity.common.datasets import embedded_digits, load_image, scan_images

ROOT = Path(__file__).resolve().parents[2]
main = parity.__main__.main


# ---------------------------------------------------------------- the Fréchet distance

def test_the_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    d = 32
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    var1, var2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    # W2^2 of N(mu1, diag var1), N(mu2, diag var2): |mu1 - mu2|^2 + sum (sd1 - sd2)^2
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert common_fid.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)
    # Rotating both Gaussians alike keeps the distance; the covariances are then full.
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    rotated = common_fid.frechet_distance(q @ mu1, q @ np.diag(var1) @ q.T, q @ mu2, q @ np.diag(var2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-10)
    assert common_fid.frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(9 + (1 - 2) ** 2, rel=1e-15)


def test_the_frechet_distance_is_pytorch_fids_on_full_covariances():
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(1)
    d = 64
    a, b = rng.normal(size=(4 * d, d)), rng.normal(size=(4 * d, d)) @ rng.normal(size=(d, d))
    mu1, mu2, sigma1, sigma2 = a.mean(0), b.mean(0) + 0.5, np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ours = common_fid.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert ours == pytest.approx(calculate_frechet_distance(mu1, sigma1, mu2, sigma2), rel=1e-9)
    assert ours > 10


def test_identical_statistics_are_zero_apart_even_of_fewer_samples_than_dimensions():
    features = np.random.default_rng(2).normal(size=(10, 256))        # covariance of rank 9
    mu, sigma = features.mean(0), np.cov(features, rowvar=False)
    assert abs(common_fid.frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_the_class_entropy_is_in_bits():
    assert common_fid.class_entropy(np.full(10, 7)) == pytest.approx(np.log2(10))
    assert common_fid.class_entropy([0, 5, 0, 5]) == pytest.approx(1.0)
    assert common_fid.class_entropy([0, 0, 9, 0]) == 0.0


# ---------------------------------------------------------------- the Inception network

def pytorch_fid_network(tmp_path):
    """pytorch-fid's own InceptionV3 (FID blocks, resize, scaling) holding the shipped
    TorchScript's weights: they are written, under pytorch-fid's names, as the file its
    fid_inception_v3 would download, into a torch hub folder of the test's own; its strict
    load_state_dict then needs every one of its tensors, at its shape, and no other."""
    import pytorch_fid.inception as pfi
    import torchvision
    from parity.inception import load_inception
    ours = load_inception()
    ours_convs = [m for _, m in ours.named_modules() if "var" in dict(m.named_parameters(recurse=False))]
    skeleton = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    names = [n for n, m in skeleton.named_modules() if isinstance(m, torchvision.models.inception.BasicConv2d)]
    assert len(names) == len(ours_convs) == 94
    state = {"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}   # no classifier: unused
    for name, conv in zip(names, ours_convs):
        channels = len(conv.beta)
        # TensorFlow's graph applies no BatchNorm scale: gamma 1.
        state.update({f"{name}.conv.weight": conv.weight.detach(), f"{name}.bn.weight": torch.ones(channels),
                      f"{name}.bn.bias": conv.beta.detach(), f"{name}.bn.running_mean": conv.mean.detach(),
                      f"{name}.bn.running_var": conv.var.detach(), f"{name}.bn.num_batches_tracked": torch.tensor(0)})
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        (tmp_path / "checkpoints").mkdir()
        torch.save(state, tmp_path / "checkpoints" / Path(pfi.FID_WEIGHTS_URL).name)
        return ours, pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    finally:
        torch.hub.set_dir(previous)


@pytest.mark.slow
def test_the_inception_network_is_pytorch_fids(tmp_path, digits):
    from parity.inception import InceptionFeatures
    ours, reference = pytorch_fid_network(tmp_path)
    counts = {}
    for name, tensor in ours.state_dict().items():
        counts[name.rsplit(".", 1)[1]] = counts.get(name.rsplit(".", 1)[1], 0) + tensor.numel()
    assert counts == {"weight": 21_751_136, "beta": 17_216, "mean": 17_216, "var": 17_216}
    assert sum(counts.values()) == 21_802_784          # TF-slim's InceptionV3 base has as many
    # pytorch-fid's parameters: the same convolutions, BatchNorm's gamma and beta (its
    # running statistics are buffers).
    assert sum(p.numel() for p in reference.parameters()) == 21_751_136 + 2 * 17_216
    # A fixed image: a real digit (28 x 28, grey as RGB) and uniform noise (64 x 64).
    digit = np.repeat(np.asarray(Image.open(scan_images(digits)[0]), np.float32)[None, None] / 255, 3, axis=1)
    noise = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    for image in (digit, noise):
        with torch.no_grad():
            expected = reference(torch.from_numpy(image))[0].reshape(1, -1).numpy()
        features, _ = InceptionFeatures()(image * 2 - 1)
        assert features.shape == (1, 2048)
        assert np.abs(features - expected).max() <= 1e-5 * np.abs(expected).max()


# ---------------------------------------------------------------- the command on folders

@pytest.fixture(scope="module")
def digits(embedded_digit_folder):
    return embedded_digit_folder


@pytest.fixture(scope="module")
def halves(digits, tmp_path_factory):
    """The embedded digits in two halves, every other digit of each class."""
    root = tmp_path_factory.mktemp("halves")
    for i, path in enumerate(scan_images(digits)):
        target = root / "ab"[i % 2] / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return root / "a", root / "b"


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """500 grey 28 x 28 images of uniform noise."""
    folder = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    for i in range(500):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def fid(tmp_path, *argv):
    """The JSON result of `python -m parity fid ARGV` (run in this process)."""
    out = tmp_path / f"result{len(list(tmp_path.glob('result*.json')))}.json"
    assert main(["fid", *map(str, argv), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_digit_fid_of_halves_is_small_of_noise_large_of_itself_zero(halves, noise, tmp_path, capsys):
    a, b = halves
    cache = ["--cache-dir", tmp_path / "cache"]
    split = fid(tmp_path, a, b, "--n", 500, "--features", "digit", *cache)
    against_noise = fid(tmp_path, a, noise, "--n", 500, "--features", "digit", *cache)
    itself = fid(tmp_path, a, a, "--n", 500, "--features", "digit", "--no-cache")
    assert split["fid"] < 5 and against_noise["fid"] > 100 * split["fid"]
    assert abs(itself["fid"]) < 1e-9
    assert against_noise["real_stats"]["cached"] and not split["real_stats"]["cached"]
    # Real digits: mostly confident and every class alike; noise: neither.
    assert split["fake_stats"]["confident"] > 0.8 and split["fake_stats"]["class_entropy_bits"] > 3.3
    assert against_noise["fake_stats"]["confident"] < 0.1 and against_noise["fake_stats"]["class_entropy_bits"] < 2.5
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"digit FID {split['fid']:.4f}: 500 images of {b} against 500 images of {a}; FAKE ")


@pytest.mark.slow
def test_fid_of_halves_is_small_of_noise_large_of_itself_zero(halves, noise, tmp_path):
    a, b = halves
    cache = ["--cache-dir", tmp_path / "cache", "--batch-size", 16]
    split = fid(tmp_path, a, b, "--n", 16, *cache)
    against_noise = fid(tmp_path, a, noise, "--n", 16, *cache)
    itself = fid(tmp_path, a, a, "--n", 4, "--no-cache")
    # Measured on this machine: 97.5 and 477.0 (docs/fid.md); FID at 16 images is mostly bias.
    assert against_noise["fid"] > 2.5 * split["fid"]
    assert abs(itself["fid"]) < 1e-6
    assert against_noise["real_stats"]["cached"]


def test_the_statistics_cache_is_reused_and_follows_the_folder(digits, tmp_path):
    folder = tmp_path / "digits"
    shutil.copytree(digits / "3", folder / "3")
    cache = tmp_path / "cache"
    argv = [folder, folder, "--n", 40, "--features", "digit", "--cache-dir", cache]
    first = fid(tmp_path, *argv)
    assert not first["real_stats"]["cached"] and first["fake_stats"]["cached"]   # the same folder: read back
    files = sorted(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("digit_n40_")
    stamp = files[0].stat().st_mtime_ns
    assert fid(tmp_path, *argv)["real_stats"]["cached"] and files[0].stat().st_mtime_ns == stamp
    # Another --n, or an image changed: other statistics.
    assert not fid(tmp_path, folder, folder, "--n", 30, "--features", "digit", "--cache-dir", cache)[
        "real_stats"]["cached"]
    chosen = common_fid.FolderImages(folder, 40, "REAL").paths[0]
    Image.fromarray(255 - np.asarray(Image.open(chosen))).save(chosen)
    changed = fid(tmp_path, *argv)
    assert not changed["real_stats"]["cached"] and len(list(cache.iterdir())) == 3


def test_grey_against_rgb_is_converted_and_said(digits, tmp_path, capsys):
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    grey_paths = scan_images(digits / "7")[:60]
    for path in grey_paths:
        Image.open(path).convert("RGB").save(rgb / path.name)
    grey = tmp_path / "grey"
    shutil.copytree(digits / "7", grey)
    converted = fid(tmp_path, grey, rgb, "--n", 60, "--features", "digit", "--no-cache")
    assert converted["notes"] == ["FAKE is RGB: converted to grayscale (PIL's L weights) for the digit classifier"]
    assert "note: FAKE is RGB: converted to grayscale" in capsys.readouterr().err
    # R = G = B: the grey PIL computes back is the original one, and so is the score.
    for path in grey_paths:
        (tmp_path / "same").mkdir(exist_ok=True)
        shutil.copyfile(path, tmp_path / "same" / path.name)
    same = fid(tmp_path, grey, tmp_path / "same", "--n", 60, "--features", "digit", "--no-cache")
    assert converted["fid"] == pytest.approx(same["fid"], rel=1e-12) and same["notes"] == []
    notes = common_fid.channel_notes(common_fid.FolderImages(grey, 60, "REAL"), common_fid.FolderImages(rgb, 60, "FAKE"),
                                  common_fid.INCEPTION)
    assert notes == ["REAL is grayscale and FAKE is RGB: Inception reads both as RGB (REAL's grey repeated "
                     "to three channels)"]


# ---------------------------------------------------------------- checkpoints and arrays

@pytest.fixture(scope="module")
def gan_weights(tmp_path_factory):
    """gan's generator, the same seeded weights in a MindSpore and a PyTorch file."""
    from ms_gan.init import load_arrays
    root = tmp_path_factory.mktemp("gan")
    seeded, _ = ms_gan.models.build("gan", seed=5)
    fresh, _ = ms_gan.models.build("gan")          # parameter names as a bare model has them
    load_arrays(fresh, {n: p.asnumpy() for n, p in seeded.parameters_and_names()})
    ms.save_checkpoint(fresh, str(root / "g.ckpt"))
    torch.save(torch_gan.models.build("gan", seed=5)[0].state_dict(), root / "g.pt")
    return root / "g.ckpt", root / "g.pt"


def test_a_checkpoint_of_either_framework_draws_the_same_images(gan_weights, digits, tmp_path):
    scores = [fid(tmp_path, digits, path, "--n", 64, "--seed", 3, "--features", "digit", "--no-cache")
              for path in gan_weights]
    assert scores[0]["fake"] == f"64 images of gan drawn from {gan_weights[0]} (MindSpore, seed 3)"
    assert scores[1]["fake"] == f"64 images of gan drawn from {gan_weights[1]} (PyTorch, seed 3)"
    assert scores[0]["fid"] == pytest.approx(scores[1]["fid"], rel=1e-4) and scores[0]["fid"] > 100


def test_score_images_gives_the_digit_score_in_numpy(digits, tmp_path):
    # The very 50 of the folder's 500 that the real side reads: a distance of 0.
    images = np.stack([load_image(p, 28, 1) for p in common_fid.FolderImages(digits / "1", 50, "REAL").paths])
    result = common_fid.score_images(images, digits / "1", common_fid.DIGIT, cache_dir=tmp_path)
    assert result["n"] == 50 and abs(result["fid"]) < 1e-9 and result["fake_stats"]["class_histogram"][1] > 45
    assert common_fid.score_images(images, digits / "1", common_fid.DIGIT, cache_dir=tmp_path)["real_stats"]["cached"]


@pytest.mark.slow
def test_score_images_runs_inception_in_a_subprocess(digits, tmp_path):
    images = np.stack([load_image(p, 28, 1) for p in common_fid.FolderImages(digits / "1", 6, "REAL").paths])
    cache = tmp_path / "cache"
    result = common_fid.score_images(images, digits / "1", common_fid.INCEPTION, cache_dir=cache, batch_size=6)
    assert result["features"] == "inception" and result["n"] == 6 and abs(result["fid"]) < 1e-3
    assert result["fake"].startswith("6 images of ") and result["fake"].endswith("fake.npy")
    assert [p.name.split("_")[0] for p in cache.iterdir()] == ["inception"]
    three = tmp_path / "three"
    three.mkdir()
    for path in scan_images(digits / "1")[:3]:
        shutil.copyfile(path, three / path.name)
    with pytest.raises(RuntimeError, match="fewer than --n 6: give --n 3 or less"):
        common_fid.score_images(images, three, common_fid.INCEPTION)


# ---------------------------------------------------------------- bad input

def junk_torch(path):
    torch.save({"linear.weight": torch.zeros(3, 4)}, path)      # no model's generator


def junk_mindspore(path):
    ms.save_checkpoint([{"name": "linear.weight", "data": ms.Tensor(np.zeros((3, 4), np.float32))}], str(path))


BAD = [  # (what FAKE is, how it is made, the error's start, a part of it)
    ("empty folder", lambda p: p.mkdir(), "error: no images in", "looked for .jpg"),
    ("few images", None, "error: FAKE ", "has 30 images, fewer than --n 100: give --n 30 or less"),
    ("unknown torch model.pt", junk_torch, "error: ", "holds no generator of any model"),
    ("unknown mindspore model.ckpt", junk_mindspore, "error: ", "holds no generator of any model"),
    ("junk.pt", lambda p: p.write_bytes(b"not a checkpoint"), "error: ", "is not a PyTorch checkpoint"),
    ("missing.pt", None, "error: FAKE checkpoint ", "does not exist"),
    ("missing", None, "error: FAKE ", "does not exist"),
    ("notes.txt", lambda p: p.write_text("hi"), "error: FAKE ", "is neither a folder, a .npy of images nor"),
    ("flat.npy", lambda p: np.save(p, np.zeros((200, 28, 28), np.float32)), "error: FAKE ",
     "holds a float32 array of shape (200, 28, 28); images are float (N, C, H, W)"),
    ("short.npy", lambda p: np.save(p, np.zeros((7, 1, 28, 28), np.float32)), "error: FAKE ",
     "holds 7 images, fewer than --n 100: give --n 7 or less"),
]


@pytest.mark.parametrize("name, make, start, part", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(name, make, start, part, digits, tmp_path, monkeypatch,
                                                         capsys):
    work = tmp_path / "work"
    work.mkdir()
    fake = work / name
    if name == "few images":
        shutil.copytree(digits / "2", fake)
        for path in scan_images(fake)[30:]:
            path.unlink()
    elif make is not None:
        make(fake)
    before = sorted(work.rglob("*"))
    monkeypatch.chdir(work)
    code = main(["fid", str(digits), str(fake), "--n", "100", "--features", "digit", "--cache-dir",
                 str(tmp_path / "cache"), "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(start) and part in err, err
    assert sorted(work.rglob("*")) == before
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out.json").exists()


def test_too_few_real_images_names_how_many(digits, tmp_path, capsys):
    assert main(["fid", str(digits / "4"), str(digits), "--n", "600", "--features", "digit", "--no-cache"]) == 2
    assert capsys.readouterr().err == (f"error: REAL {digits / '4'} has 500 images, fewer than --n 600: "
                                       f"give --n 500 or less\n")


def test_too_few_images_on_both_sides_are_named_at_once(digits, tmp_path, capsys):
    assert main(["fid", str(digits / "4"), str(digits / "5"), "--n", "600", "--features", "digit", "--no-cache"]) == 2
    assert capsys.readouterr().err == (f"error: REAL {digits / '4'} has 500 images, fewer than --n 600: "
                                       f"give --n 500 or less; FAKE {digits / '5'} has 500 images, fewer than "
                                       f"--n 600: give --n 500 or less\n")


@pytest.mark.parametrize("argv, flag, allowed", [
    ("fid a b --n 1", "--n", "an integer >= 2"),
    ("fid a b --batch-size -1", "--batch-size", "an integer >= 1"),
    ("fid a b --seed -2", "--seed", "an integer >= 0"),
    ("digit-classifier --out x.npz --epochs 0", "--epochs", "an integer >= 1"),
])
def test_bad_numbers_stop_at_parsing(argv, flag, allowed, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv.split())
    assert stop.value.code == 2 and f"error: argument {flag}: must be {allowed}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the digit classifier

def test_the_numpy_digit_classifier_is_the_torch_one(digits):
    from parity.digit_classifier import load
    images = np.concatenate([np.stack([load_image(p, 28, 1) for p in scan_images(digits)[::100]]),
                             np.random.default_rng(0).uniform(-1, 1, (14, 1, 28, 28)).astype(np.float32)])
    features, logits = common_fid.DigitClassifier().forward(images)
    network = load(common_fid.DIGIT_CLASSIFIER)
    with torch.no_grad():
        x = torch.from_numpy(images)
        expected_features = network[:-1](x).numpy()
        expected_logits = network(x).numpy()
    assert features.shape == (64, 64) and logits.shape == (64, 10)
    assert np.abs(features - expected_features).max() < 1e-5
    assert np.abs(logits - expected_logits).max() < 1e-5


def test_the_shipped_classifier_has_the_documented_accuracy(tmp_path):
    _, test = common_fid.digit_split(tmp_path)
    images, labels = common_fid.load_digits(test)
    accuracy = common_fid.DigitClassifier().accuracy(images, labels)
    with np.load(common_fid.DIGIT_CLASSIFIER) as shipped:
        assert accuracy == float(shipped["test_accuracy"]) and int(shipped["test_images"]) == len(labels) == 1000
        assert int(shipped["seed"]) == 0 and int(shipped["epochs"]) == 8
    assert f"test accuracy {accuracy:.1%}" in (ROOT / "docs" / "fid.md").read_text()
    assert common_fid.DIGIT_CLASSIFIER.stat().st_size < 500_000
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "digit_classifier.npz" in package_data["parity.common"]


@pytest.mark.slow
def test_the_digit_classifier_command_trains_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "classifier.npz"
    assert main(["digit-classifier", "--out", str(out), "--epochs", "1", "--seed", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"wrote {out}: test accuracy ")
    with np.load(out) as trained:
        assert float(trained["test_accuracy"]) > 0.7 and int(trained["seed"]) == 4
    images, labels = common_fid.load_digits(common_fid.digit_split()[1])
    assert common_fid.DigitClassifier(out).accuracy(images, labels) == float(np.load(out)["test_accuracy"])
    assert main(["digit-classifier", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: --out {out} exists; kept (give --force to replace it)\n"


# ---------------------------------------------------------------- framework-free

def test_quality_imports_no_framework():
    source = (ROOT / "parity" / "common" / "fid.py").read_text()
    inner = [node for f in ast.walk(ast.parse(source)) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for node in ast.walk(f) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert inner == []
    run = subprocess.run([sys.executable, "-c", "import sys, parity.common.fid; "
                          "print([m for m in ('torch', 'mindspore') if m in sys.modules])"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.strip() == "[]"
