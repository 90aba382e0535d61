"""Both trainers on a tiny image folder: every output, resume equality, the NaN stop,
device errors, and the first step of the twins side by side (dcgan, the trainers' default
on a folder); then one epoch of every model in both frameworks."""
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers.runs import FRAMEWORKS, IMAGES, load_checkpoint_arrays as load, metrics, pynative, trainer
from parity.common import command_line, pictures, run_folder, run_settings, streams
from parity.common.configs import MODELS, get_config
from parity.convert import read_checkpoint

pytestmark = pytest.mark.slow     # trains or runs commands in subprocesses

BATCH = 2
STEPS = IMAGES // BATCH
train = trainer(BATCH)


@pytest.fixture(scope="module")
def folder(noise_folders):
    """8 small RGB pictures of another size than the model's, as a user's folder would be."""
    return noise_folders(IMAGES, (40, 48, 3))


@pytest.fixture(scope="module", params=sorted(FRAMEWORKS))
def runs(request, folder, tmp_path_factory):
    """One framework's runs: 2 epochs straight; 1 epoch, then --resume to 2."""
    framework = request.param
    root = tmp_path_factory.mktemp(framework)
    assert train(framework, folder, root / "straight", "--epochs", "2") == 0
    assert train(framework, folder, root / "interrupted", "--epochs", "1") == 0
    shutil.copytree(root / "interrupted", root / "after_one_epoch")
    assert train(framework, folder, root / "interrupted", "--epochs", "2", "--resume") == 0
    return framework, root


def test_one_epoch_leaves_every_output(runs):
    framework, root = runs
    suffix = FRAMEWORKS[framework][1]
    out = root / "after_one_epoch"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [f"epoch_001{suffix}"]
    grid = Image.open(out / "samples" / "epoch_001.png")
    assert grid.size == (8 * 66 + 2, 8 * 66 + 2) and grid.mode == "RGB"   # 64 images of 64x64, padding 2
    assert Image.open(out / "losses.png").format == "PNG"
    gif = Image.open(out / "progress.gif")
    assert gif.format == "GIF" and gif.n_frames == 1
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["step"], r["iteration"]) for r in records] == [(1, s, s) for s in range(1, STEPS + 1)]
    for r in records:
        assert set(run_folder.STATS) <= set(r) and all(np.isfinite(r[k]) for k in run_folder.STATS)
        assert 0 <= r["d_x"] <= 1 and 0 <= r["d_g_z1"] <= 1 and 0 <= r["d_g_z2"] <= 1
    assert not list(out.rglob("*.tmp*")), "a temporary file was left behind"
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {0o666 & ~umask}, modes    # MindSpore's .ckpt too, not its 0400


def test_checkpoint_holds_the_layout(runs):
    framework, root = runs
    path = root / "after_one_epoch" / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    if framework == "ms_gan":
        import mindspore as ms
        raw = ms.load_checkpoint(str(path))
        assert int(raw["epoch"].asnumpy()) == 1
        config = json.loads(raw["config"])
        assert float(raw["optimizer_g.state_step"].asnumpy()) == STEPS
        assert float(raw["optimizer_d.state_step"].asnumpy()) == STEPS
        for name in ("generator.main.0.weight", "generator.main.1.moving_mean", "discriminator.main.3.gamma",
                     "optimizer_g.exp_avg.main.0.weight", "optimizer_d.exp_avg_sq.main.11.weight"):
            assert name in raw, name
    else:
        import torch
        raw = torch.load(path, weights_only=True)
        assert raw["epoch"] == 1
        config = raw["config"]
        assert raw["optimizer_g"]["state"][0]["step"] == STEPS
        assert set(raw) == {"generator", "discriminator", "optimizer_g", "optimizer_d", "epoch", "config"}
    assert config["batch_size"] == BATCH and config["seed"] == 0 and config["model"] == "dcgan"


def test_resumed_run_ends_with_the_same_weights(runs):
    framework, root = runs
    name = f"epoch_002{FRAMEWORKS[framework][1]}"
    straight = load(framework, root / "straight" / "checkpoints" / name)
    resumed = load(framework, root / "interrupted" / "checkpoints" / name)
    assert sorted(straight) == sorted(resumed)
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)
    lines = (root / "interrupted" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 * STEPS and Image.open(root / "interrupted" / "progress.gif").n_frames == 2
    # The fixed noise survives the resume: epoch 1's grid is the same file in both runs.
    assert (root / "straight" / "samples" / "epoch_001.png").read_bytes() == \
        (root / "interrupted" / "samples" / "epoch_001.png").read_bytes()


def test_generate_repeats_the_sample_grid(runs, tmp_path):
    """generate with the run's seed draws the run's fixed noise: the last sample grid again."""
    framework, root = runs
    main, suffix = FRAMEWORKS[framework]
    out = tmp_path / "grid.png"
    assert main(["generate", "--checkpoint", str(root / "straight" / "checkpoints" / f"epoch_002{suffix}"),
                 "--seed", "0", "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)),
                          np.asarray(Image.open(root / "straight" / "samples" / "epoch_002.png")))


def test_resume_refuses_other_settings(runs, folder, tmp_path, capsys):
    framework, root = runs
    shutil.copytree(root / "after_one_epoch", tmp_path / "run")
    code = FRAMEWORKS[framework][0](["train", "--data", str(folder), "--batch-size", "8", "--out",
                                     str(tmp_path / "run"), "--epochs", "2", "--resume"])
    assert code == 2
    assert "--batch-size 2 -> 8" in capsys.readouterr().err


def test_nan_loss_stops_and_keeps_the_last_checkpoint(runs, folder, tmp_path, monkeypatch, capsys):
    framework, root = runs
    shutil.copytree(root / "after_one_epoch", tmp_path / "run")
    module = sys.modules[f"{framework}.train"]
    calls = []

    def nan_on_second_step(self, real, z, labels=None, masks=None):   # a stand-in step: no compiling, no computing
        calls.append(1)
        return {**dict.fromkeys(run_folder.STATS, 0.5), **({"loss_g": float("nan")} if len(calls) == 2 else {})}

    monkeypatch.setattr(module.TrainStep, "__call__", nan_on_second_step)
    checkpoint = tmp_path / "run" / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    before = checkpoint.read_bytes()
    code = train(framework, folder, tmp_path / "run", "--epochs", "2", "--resume")
    err = capsys.readouterr().err
    assert code == 1
    assert "loss_g is nan at epoch 2, step 2" in err and "epoch_001" in err
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == [checkpoint.name]


def test_a_new_run_refuses_a_folder_that_holds_one(runs, folder, tmp_path, capsys):
    """Without --resume or --force, a run's files are never overwritten, and the refusal comes
    before any training."""
    framework, root = runs
    shutil.copytree(root / "straight", tmp_path / "run")
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert train(framework, folder, tmp_path / "run", "--epochs", "1") == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "run") in err and "--resume" in err and "--force" in err
    assert "epoch 1/1" not in err                              # no progress bar: nothing trained
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before


def test_force_starts_over_and_leaves_nothing_of_the_old_run(runs, folder, tmp_path):
    """A 2-epoch run, then --force --epochs 1 with another seed: one checkpoint, one grid,
    the new run's metrics only; other files in the folder stay."""
    framework, root = runs
    suffix = FRAMEWORKS[framework][1]
    shutil.copytree(root / "straight", tmp_path / "run")
    (tmp_path / "run" / "notes.txt").write_text("mine")
    assert train(framework, folder, tmp_path / "run", "--epochs", "1", "--seed", "3", "--force") == 0
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [f"epoch_001{suffix}"]
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == ["epoch_001.png"]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == STEPS
    old = [json.loads(line) for line in (root / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["loss_d"] != old[0]["loss_d"]           # seed 3's run, not seed 0's
    assert Image.open(tmp_path / "run" / "progress.gif").n_frames == 1
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_resume_takes_the_model_from_the_run_and_a_finished_run_says_so(framework, folder, tmp_path, capfd):
    run = tmp_path / "run"
    assert train(framework, folder, run, "--model", "cnn_gan", "--epochs", "1") == 0
    assert "done: 1 epoch; outputs in" in capfd.readouterr().out
    assert train(framework, folder, run, "--epochs", "2", "--resume") == 0      # no --model
    out = capfd.readouterr().out
    assert "resuming from" in out and "done: 2 epochs; outputs in" in out
    checkpoint = run / "checkpoints" / f"epoch_002{FRAMEWORKS[framework][1]}"
    module = sys.modules[f"{framework}.checkpoint"]
    assert module.FORMAT.stored_config(checkpoint)["model"] == "cnn_gan"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert train(framework, folder, run, "--epochs", "2", "--resume") == 0
    captured = capfd.readouterr()
    assert f"run already finished (2 epochs) in {run}" in captured.out
    assert "%|" not in captured.err                          # no progress bar
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert train(framework, folder, run, "--model", "dcgan", "--epochs", "3", "--resume") == 2
    assert capfd.readouterr().err == (f"error: --model dcgan contradicts {checkpoint}: it is a cnn_gan checkpoint "
                                      f"(its config); leave --model out\n")


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_unreadable_images_are_counted_once_before_training(framework, folder, tmp_path, capfd, monkeypatch):
    """One line before the first step, with the count; at batch 1 no step meets the broken
    file (no empty batch), and MindSpore leaves nothing in the working directory."""
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    (data / "broken.png").write_bytes(b"not a png")
    monkeypatch.chdir(tmp_path)
    assert train(framework, data, tmp_path / "run", "--epochs", "1", "--batch-size", "1") == 0
    err = capfd.readouterr().err
    lines = [line for line in err.replace("\r", "\n").splitlines() if "broken.png" in line]
    assert lines == [f"warning: skipping 1 unreadable image of {IMAGES + 1} in {data} (PIL could not decode it), "
                     f"e.g. {data / 'broken.png'}"]
    assert "Warning" not in err                              # not Python's two-line RuntimeWarning
    assert [r["step"] for r in metrics(tmp_path / "run")] == list(range(1, IMAGES + 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_folder_of_unreadable_images_is_refused_in_one_line(framework, tmp_path, capfd, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.png").write_bytes(b"not a png")
    monkeypatch.chdir(tmp_path)
    assert train(framework, data, tmp_path / "run", "--epochs", "1", "--batch-size", "1") == 2
    err = capfd.readouterr().err.strip()
    assert err == f"error: no readable image in {data}: PIL could not decode any of its 1 image file " \
                  f"(e.g. {data / 'broken.png'})"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]      # no --out, no rank_0/


def test_the_default_model_is_the_set_up_one_on_the_embedded_digits(tmp_path):
    parse = command_line.build_parser("python -m ms_gan", ("CPU",), "CPU").parse_args
    run = run_folder.Run(tmp_path / "new", ".ckpt", resume=True)
    assert run_settings.train_model(parse(["train"]), run, None) == "cnn_gan"
    assert run_settings.train_model(parse(["train", "--data", "faces"]), run, None) == "dcgan"
    assert run_settings.train_model(parse(["train", "--model", "gan"]), run, None) == "gan"
    assert run_settings.train_model(parse(["train", "--resume"]), run, None) == "cnn_gan"   # nothing to resume yet


def test_out_that_is_a_file_is_named_before_training(tmp_path, folder, capsys):
    (tmp_path / "taken").write_text("not a folder")
    for framework in FRAMEWORKS:
        assert train(framework, folder, tmp_path / "taken", "--epochs", "1") == 2
        assert f"--out {tmp_path / 'taken'} is a file" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "not a folder"


@pytest.mark.parametrize("framework, device", [("ms_gan", "GPU"), ("ms_gan", "Ascend"), ("torch_gan", "cuda")])
def test_missing_device_is_named(framework, device, tmp_path, capsys):
    if framework == "ms_gan":
        import mindspore as ms
        available = ms.hal.is_available(device)
    else:
        import torch
        available = torch.cuda.is_available()
    if available:
        pytest.skip(f"this machine has {device}")
    code = FRAMEWORKS[framework][0](["train", "--device", device, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and device in err and ("CPU" in err or "cpu" in err)


@pytest.mark.parametrize("mode", ["jit", "pynative"])
def test_twins_take_the_same_first_step(mode):
    """From the same weights, batch and noise: the same losses, D(x) and D(G(z)) before
    and after D's update (so G's step sees the updated D in both), and G's BatchNorm
    statistics moved once."""
    import ms_gan.models
    import torch_gan.models
    from ms_gan.init import state_arrays as ms_state
    from ms_gan.train import TrainStep as MsStep
    from torch_gan.init import state_arrays as torch_state
    from torch_gan.train import TrainStep as TorchStep

    real = np.random.default_rng(1).uniform(-1, 1, (BATCH, 3, 64, 64)).astype(np.float32)
    z = streams.step_noise(0, 0, 0, BATCH, (100, 1, 1))
    ms_step = MsStep(*ms_gan.models.build("dcgan", seed=5), mode=mode)
    torch_step = TorchStep(*torch_gan.models.build("dcgan", seed=5))
    ms_stats, torch_stats = ms_step(real, z), torch_step(real, z)
    for key in run_folder.STATS:
        assert ms_stats[key] == pytest.approx(torch_stats[key], abs=2e-5, rel=1e-4), key
    ms_g, torch_g = ms_state(ms_step.generator), torch_state(torch_step.generator)
    for name in ms_g:
        if name.endswith(("moving_mean", "moving_variance")):
            np.testing.assert_allclose(ms_g[name], torch_g[name], atol=1e-5, err_msg=name)


@pytest.mark.parametrize("package, forbidden", [("ms_gan", "torch"), ("torch_gan", "mindspore")])
def test_trainers_import_one_framework(package, forbidden):
    modules = ", ".join(f"{package}.{m}" for m in ("train", "generate", "checkpoint", "__main__"))
    code = f"import sys, {modules}; assert {forbidden!r} not in sys.modules, 'imported {forbidden}'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_noise_is_reproducible_and_distinct():
    a = streams.step_noise(3, 1, 2, 4, (100, 1, 1))
    assert a.dtype == np.float32 and a.shape == (4, 100, 1, 1)
    assert np.array_equal(a, streams.step_noise(3, 1, 2, 4, (100, 1, 1)))
    assert not np.array_equal(a, streams.step_noise(3, 1, 3, 4, (100, 1, 1)))
    assert not np.array_equal(streams.sample_noise(3, 4, (100, 1, 1)), streams.step_noise(3, 0, 0, 4, (100, 1, 1)))


def test_image_grid_layout():
    images = np.full((10, 1, 4, 4), -1.0, np.float32)
    images[3] = 1.0
    grid = pictures.image_grid(images, columns=8, padding=2)
    assert grid.shape == (2 * 6 + 2, 8 * 6 + 2) and grid.dtype == np.uint8
    assert grid[2:6, 3 * 6 + 2:3 * 6 + 6].min() == 255 and grid[2:6, 2:6].max() == 0


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_resume_takes_every_setting_from_the_checkpoint(framework, folder, tmp_path, capsys):
    """`--resume` alone continues a run made with --data, --batch-size, --lr and --seed; a
    setting given that differs is refused in one line."""
    main, _ = FRAMEWORKS[framework]
    run = tmp_path / "run"
    common = ["--out", str(run), "--workers", "1", "--log-every", "0"]
    assert main(["train", "--model", "gan", "--data", str(folder), "--batch-size", "4", "--lr", "1e-3",
                 "--seed", "3", "--epochs", "1", *common]) == 0
    assert main(["train", "--resume", "--epochs", "2", *common]) == 0
    assert [r["epoch"] for r in metrics(run)] == [1, 1, 2, 2]
    assert main(["train", "--resume", *common]) == 0          # --epochs too: the run's 2, done
    assert "run already finished (2 epochs)" in capsys.readouterr().out
    assert main(["train", "--resume", "--epochs", "3", "--batch-size", "2", *common]) == 2
    assert "--batch-size 4 -> 2" in capsys.readouterr().err


# ---------------------------------------------------------------- every model, one epoch
# On a tiny folder of images in two class folders: every output is valid for that model, and
# both frameworks' first step gives the same losses. sgan trains on every label here; its
# semi-supervised and supervised runs and `evaluate` are in tests/training/test_sgan.py.
# MindSpore runs in PyNative (helpers.runs.pynative); test_twins_take_the_same_first_step
# above covers jit against PyNative.

MODEL_BATCH = 4
MODEL_STEPS = IMAGES // MODEL_BATCH


@pytest.fixture(scope="module")
def ring_folders(tmp_path_factory):
    """{image size: folder} of 8 pictures of a ring, drawn at that size (the frameworks'
    resizes differ by a few grey levels: ms_gan/data.py), grayscale and RGB in turn, in
    class folders 0/ and 1/ (sgan reads its labels from them; the others ignore them)."""
    from PIL import ImageDraw
    result = {}
    for size in sorted({get_config(m).image_shape[1] for m in MODELS}):
        path = result[size] = tmp_path_factory.mktemp(f"images{size}")
        for i in range(IMAGES):
            image = Image.new("L", (size, size))
            ImageDraw.Draw(image).ellipse((2 + i % 4, 3, size - 3 - i // 2, size - 2), outline=255, width=2 + i % 3)
            (path / str(i % 2)).mkdir(exist_ok=True)
            (image.convert("RGB") if i % 2 else image).save(path / str(i % 2) / f"{i:02d}.png")
    return result


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_runs(request, ring_folders, tmp_path_factory):
    """(model, root): one epoch of the model in root/ms_gan and root/torch_gan, batch 4,
    dropout off (so the dropout-on path of cnn_gan and dcgan_mnist is not run here)."""
    model = request.param
    size = get_config(model).image_shape[1]
    root = tmp_path_factory.mktemp(model)
    for framework in FRAMEWORKS:
        assert trainer(MODEL_BATCH)(framework, ring_folders[size], root / framework, "--model", model, "--epochs", "1",
                                    "--no-dropout", *pynative(framework)) == 0
    return model, root


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_one_epoch_leaves_valid_outputs(model_runs, framework):
    model, root = model_runs
    out = root / framework
    channels, height, width = get_config(model).image_shape
    path = out / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    ck = read_checkpoint(path, model)     # every name and shape of G, D and both Adams, for this model
    assert ck.training and ck.epoch == 1 and ck.config["model"] == model
    assert all(state.step == MODEL_STEPS for state in ck.optimizers.values())
    grid = Image.open(out / "samples" / "epoch_001.png")
    assert grid.size == (8 * (width + 2) + 2, 8 * (height + 2) + 2)   # 64 images, padding 2
    assert grid.mode == ("L" if channels == 1 else "RGB")
    records = metrics(out)
    assert [r["step"] for r in records] == list(range(1, MODEL_STEPS + 1))
    assert all(np.isfinite(r[k]) for r in records for k in run_folder.STATS)


def test_first_step_losses_agree(model_runs):
    model, root = model_runs
    ms_first, torch_first = (metrics(root / f)[0] for f in sorted(FRAMEWORKS))
    for key in ("loss_d", "loss_g"):
        rel = abs(ms_first[key] - torch_first[key]) / abs(torch_first[key])
        print(f"{model} first step {key}: MindSpore {ms_first[key]:.7f}, PyTorch {torch_first[key]:.7f}, "
              f"rel diff {rel:.1e}")
        assert rel <= 1e-4, key
