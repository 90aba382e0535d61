"""`generate` of both frameworks from checkpoints of both frameworks, training and
weights-only: the same weights give the same picture."""
import mindspore as ms
import numpy as np
import pytest
import torch
from PIL import Image

import ms_gan.__main__
import ms_gan.models
import torch_gan.__main__
import torch_gan.models
from ms_gan.checkpoint import FORMAT as MS_FORMAT
from ms_gan.train import TrainStep as MsStep
from parity.common import streams
from torch_gan.checkpoint import FORMAT as TORCH_FORMAT
from torch_gan.train import TrainStep as TorchStep

pytestmark = pytest.mark.slow     # a file of the other framework goes through the converter, a subprocess

MAINS = {"ms_gan": ms_gan.__main__.main, "torch_gan": torch_gan.__main__.main}
CONFIG = {"model": "dcgan", "seed": 7}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The same seeded weights saved four ways, with G's running statistics moved off
    zero and one (eval mode reads them)."""
    root = tmp_path_factory.mktemp("checkpoints")
    ms_g, ms_d = ms_gan.models.build("dcgan", seed=7)
    torch_g, torch_d = torch_gan.models.build("dcgan", seed=7)
    from ms_gan.init import layer_inventory, load_arrays as ms_load
    from parity.common.init_spec import draw_running_stats
    from torch_gan.init import load_arrays as torch_load
    stats = draw_running_stats(layer_inventory(ms_g), 11)
    ms_load(ms_g, stats)
    torch_load(torch_g, stats)
    paths = {"ms training": root / "run.ckpt", "torch training": root / "run.pt",
             "ms weights": root / "g.ckpt", "torch weights": root / "g.pth"}
    MS_FORMAT.save_training_checkpoint(paths["ms training"], MsStep(ms_g, ms_d, mode="pynative"), 3, CONFIG)
    TORCH_FORMAT.save_training_checkpoint(paths["torch training"], TorchStep(torch_g, torch_d), 3, CONFIG)
    fresh_g, _ = ms_gan.models.build("dcgan")     # parameter names as a bare model has them
    ms_load(fresh_g, {n: p.asnumpy() for n, p in ms_g.parameters_and_names()})
    ms.save_checkpoint(fresh_g, str(paths["ms weights"]))
    torch.save(torch_g.state_dict(), paths["torch weights"])
    return paths


@pytest.mark.parametrize("framework", sorted(MAINS))
def test_every_checkpoint_gives_the_same_grid(framework, checkpoints, tmp_path):
    grids = {}
    for kind, path in checkpoints.items():
        out = tmp_path / f"{kind}.png"
        assert MAINS[framework](["generate", "--checkpoint", str(path), "--n", "16", "--seed", "3",
                                 "--out", str(out)]) == 0, kind
        grids[kind] = np.asarray(Image.open(out)).astype(int)
    first = grids["ms training"]
    assert first.shape == (2 * 66 + 2, 8 * 66 + 2, 3)
    for kind, grid in grids.items():
        # Native and converted weights are bit-equal; the frameworks' kernels may round
        # one pixel level apart.
        assert np.abs(grid - first).max() <= 1, kind
    assert first.std() > 0


def test_the_twins_draw_the_same_picture(checkpoints, tmp_path):
    outs = {}
    for framework, main in MAINS.items():
        outs[framework] = tmp_path / f"{framework}.png"
        assert main(["generate", "--checkpoint", str(checkpoints["ms training"]), "--n", "8",
                     "--out", str(outs[framework])]) == 0
    a, b = (np.asarray(Image.open(p)).astype(int) for p in outs.values())
    assert np.abs(a - b).max() <= 1


def test_seed_changes_the_noise(checkpoints, tmp_path):
    main = MAINS["torch_gan"]
    for seed in ("0", "1"):
        assert main(["generate", "--checkpoint", str(checkpoints["torch weights"]), "--n", "4",
                     "--seed", seed, "--out", str(tmp_path / f"{seed}.png")]) == 0
    assert (tmp_path / "0.png").read_bytes() != (tmp_path / "1.png").read_bytes()
    assert np.asarray(streams.sample_noise(0, 4, (100, 1, 1))).shape == (4, 100, 1, 1)


def save_dcgan_discriminator(framework, folder):
    """A weights-only file of dcgan's D in `framework`'s format; its path."""
    path = folder / ("d.ckpt" if framework == "ms_gan" else "d.pt")
    _, d = (ms_gan if framework == "ms_gan" else torch_gan).models.build("dcgan")
    if framework == "ms_gan":
        ms.save_checkpoint(d, str(path))
    else:
        torch.save(d.state_dict(), path)
    return path


@pytest.mark.parametrize("framework", sorted(MAINS))
def test_unusable_checkpoints_are_refused(framework, checkpoints, tmp_path, capsys):
    main = MAINS[framework]
    assert main(["generate", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "missing.pt" in capsys.readouterr().err
    d_only = save_dcgan_discriminator(framework, tmp_path)
    assert main(["generate", "--checkpoint", str(d_only), "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert not (tmp_path / "x.png").exists()


@pytest.fixture(scope="module")
def cnn_gan_files(tmp_path_factory):
    """The set-up model's training checkpoint (MindSpore), converted to PyTorch, and its
    G alone as weights-only files: cnn_gan's and sgan's generators are the same network."""
    from parity.convert import convert
    root = tmp_path_factory.mktemp("cnn_gan")
    g, d = ms_gan.models.build("cnn_gan", seed=1)
    paths = {"ms training": root / "epoch_002.ckpt", "torch training": root / "epoch_002.pt",
             "ms weights": root / "g.ckpt", "torch weights": root / "g.pt"}
    MS_FORMAT.save_training_checkpoint(paths["ms training"], MsStep(g, d, mode="pynative"), 2, {"model": "cnn_gan", "seed": 0})
    convert(paths["ms training"], paths["torch training"])
    torch_g, _ = torch_gan.models.build("cnn_gan", seed=1)
    torch.save(torch_g.state_dict(), paths["torch weights"])
    fresh_g, _ = ms_gan.models.build("cnn_gan")
    ms.save_checkpoint(fresh_g, str(paths["ms weights"]))
    return paths


@pytest.mark.parametrize("framework", sorted(MAINS))
@pytest.mark.parametrize("kind", ["ms training", "torch training"])
def test_a_training_checkpoint_names_its_model(framework, kind, cnn_gan_files, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert MAINS[framework](["generate", "--checkpoint", str(cnn_gan_files[kind]), "--n", "16",
                             "--out", str(out)]) == 0
    assert f"16 images of cnn_gan from {cnn_gan_files[kind]}" in capsys.readouterr().out
    assert Image.open(out).size == (8 * 34 + 2, 2 * 34 + 2)         # 32x32 digits, not the faces' 64


@pytest.mark.parametrize("framework", sorted(MAINS))
def test_a_model_that_contradicts_the_file_is_one_line_naming_both(framework, cnn_gan_files, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert MAINS[framework](["generate", "--checkpoint", str(cnn_gan_files["ms training"]), "--model", "dcgan",
                             "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: --model dcgan contradicts {cnn_gan_files['ms training']}: it is a "
                                       f"cnn_gan checkpoint (its config); leave --model out\n")
    assert not out.exists()


@pytest.mark.parametrize("framework", sorted(MAINS))
@pytest.mark.parametrize("kind", ["ms weights", "torch weights"])
def test_an_ambiguous_weights_only_file_asks_for_the_model(framework, kind, cnn_gan_files, tmp_path, capsys):
    out = tmp_path / "grid.png"
    path = cnn_gan_files[kind]
    assert MAINS[framework](["generate", "--checkpoint", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(path) in err
    assert "ambiguous: the generator fits cnn_gan and sgan alike" in err and "give --model cnn_gan|sgan" in err
    assert not out.exists()
    assert MAINS[framework](["generate", "--checkpoint", str(path), "--model", "sgan", "--out", str(out)]) == 0
    other = tmp_path / "other.png"      # out exists now: kept without --force (the output-file rule)
    assert MAINS[framework](["generate", "--checkpoint", str(path), "--model", "dcgan", "--out", str(other)]) == 2
    assert "--model dcgan contradicts" in capsys.readouterr().err and not other.exists()


@pytest.mark.parametrize("framework", sorted(MAINS))
def test_a_discriminator_given_to_generate_is_named(framework, checkpoints, tmp_path, capsys):
    d_only = save_dcgan_discriminator(framework, tmp_path)
    assert MAINS[framework](["generate", "--checkpoint", str(d_only), "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == f"error: {d_only} holds the discriminator of dcgan, not a generator\n"


@pytest.mark.parametrize("framework, suffix, name", [("torch_gan", ".pt", "PyTorch"), ("ms_gan", ".ckpt", "MindSpore"),
                                                     ("torch_gan", ".ckpt", "MindSpore"),
                                                     ("ms_gan", ".pt", "PyTorch")])
@pytest.mark.parametrize("junk", [b"hello, not a checkpoint\n", bytes(range(256)) * 4])
def test_a_junk_file_is_not_a_checkpoint(framework, suffix, name, junk, tmp_path, capsys):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(junk)
    assert MAINS[framework](["generate", "--checkpoint", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == f"error: {path} is not a {name} checkpoint (truncated or corrupt?)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
