"""`export` of both twins: every network of every model to MINDIR and ONNX from MindSpore
and to ONNX from PyTorch, each file run against its network (--verify), the two
frameworks' ONNX files against each other, the export form, the README's script, bad input."""
import re
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
import onnxruntime
import pytest
from mindspore import nn

import ms_gan.export
import ms_gan.models
import parity.__main__
import torch_gan.checkpoint
from ms_gan.checkpoint import FORMAT
from ms_gan.init import load_arrays, state_arrays
from ms_gan.models import layers
from parity.common import export
from parity.common.checkpoints import DISCRIMINATOR, GENERATOR, NETWORKS, Checkpoint
from parity.common.configs import MODELS
from parity.common.export import MINDIR, ONNX
from helpers.runs import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[2]
MS_MAIN, TORCH_MAIN = FRAMEWORKS["ms_gan"][0], FRAMEWORKS["torch_gan"][0]


def arrays_of(model, seed=0):
    """{GENERATOR / DISCRIMINATOR: {name: array}} of a seeded model, running statistics off 0 and 1."""
    from parity.common.init_spec import draw_running_stats
    from ms_gan.init import layer_inventory
    nets = ms_gan.models.build(model, seed=seed)
    for offset, net in enumerate(nets):
        load_arrays(net, draw_running_stats(layer_inventory(net), seed + offset))
    return dict(zip(NETWORKS, map(state_arrays, nets)))


def training_checkpoint(model, path):
    """A training-layout checkpoint of both networks (no Adam state), MindSpore or PyTorch by suffix."""
    ck = Checkpoint(arrays_of(model), training=True, config={"model": model}, model=model)
    (FORMAT if path.suffix == ".ckpt" else torch_gan.checkpoint.FORMAT).write(ck, path)
    return path


def exported(main, tmp_path, argv, capsys):
    """(exit status, stdout, stderr) of an export command line."""
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the export form


# cnn_gan has every fast layer but the transposed convolution, dcgan_mnist that one.
QUICK_MODELS = ("cnn_gan", "dcgan_mnist")


@pytest.mark.parametrize("fmt", [MINDIR, ONNX])
@pytest.mark.parametrize("model", [m if m in QUICK_MODELS else pytest.param(m, marks=pytest.mark.slow)
                                   for m in sorted(MODELS)])
def test_export_form_computes_the_networks_numbers_and_is_put_back(model, fmt):
    for part, net in zip(NETWORKS, ms_gan.models.build(model, seed=1)):
        load_arrays(net, arrays_of(model)[part])
        net.set_train(True)
        x = export.verify_inputs(MODELS[model], part, 3, 0)
        classes = [type(cell) for _, cell in net.cells_and_names()]
        want = ms_gan.export.run_network(net, x)
        with ms_gan.export.export_form(net, fmt):
            swapped = [type(cell) for _, cell in net.cells_and_names()]
            got = ms_gan.export.run_network(net, x)
        assert [type(cell) for _, cell in net.cells_and_names()] == classes      # training's layers again
        assert net.training                                                       # and its mode
        # every layer of layers.py runs as another class (Tanh: tanh in ONNX, expm1 in MINDIR)
        fast = [c for c in classes if c.__module__ == layers.__name__ and not issubclass(c, layers.Kernel)]
        assert fast and all(now is not was for now, was in zip(swapped, classes) if was in fast)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_any_fast_layer_runs_as_the_nn_layer_it_subclasses():
    """The rule the export form relies on, not a list of today's layers: a subclass of an nn
    layer with its own construct runs that nn layer's construct when exported."""
    class DoubledDense(nn.Dense):
        def construct(self, x):
            return 2 * super().construct(x)

    net = nn.SequentialCell(DoubledDense(3, 2), nn.ReLU())
    x = np.ones((1, 3), np.float32)
    assert ms_gan.export.plain_layer(DoubledDense) is nn.Dense and ms_gan.export.plain_layer(nn.Dense) is None
    doubled = ms_gan.export.run_network(net, x)[0]
    with ms_gan.export.export_form(net, ONNX):
        plain = ms_gan.export.run_network(net, x)[0]
    np.testing.assert_allclose(doubled, 2 * plain, rtol=1e-6)
    assert type(net[0]) is DoubledDense


def test_the_upsample_form_copies_each_pixel_to_its_block():
    x = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    form = layers.Upsample()
    form.__class__ = ms_gan.export.UpsampleExportForm
    np.testing.assert_array_equal(form(ms.Tensor(x)).asnumpy(), x.repeat(2, 2).repeat(2, 3))


# ---------------------------------------------------------------- export and verify


def check_file(path, fmt, part, model, batch, input_name):
    """The file's input takes `batch` (any when None) and its outputs are named as the twins'."""
    if fmt == MINDIR:
        x = export.verify_inputs(MODELS[model], part, batch or 2, 1)
        outputs = ms_gan.export.run_exported(path, MINDIR, x)
        assert [o.shape[0] for o in outputs] == [len(x)] * len(export.output_names(MODELS[model], part))
        return
    session = onnxruntime.InferenceSession(str(path))
    (given,) = session.get_inputs()
    assert given.name == input_name
    assert (given.shape[0] if batch else isinstance(given.shape[0], str)) == (batch or True)
    assert [o.name for o in session.get_outputs()] == list(export.output_names(MODELS[model], part))


CASES = [("ms_gan", MINDIR), ("ms_gan", ONNX), ("torch_gan", ONNX)]


def run_export(framework, fmt, model, tmp_path, capsys, part):
    suffix = FRAMEWORKS[framework][1]
    checkpoint = tmp_path / f"run{suffix}"
    if not checkpoint.exists():
        training_checkpoint(model, checkpoint)
    out = tmp_path / f"{part}-{framework}{export.SUFFIX[fmt]}"
    code, stdout, err = exported(FRAMEWORKS[framework][0], tmp_path,
                                 ["--checkpoint", str(checkpoint), "--net", part, "--format", fmt, "--out", str(out)],
                                 capsys)
    assert code == 0, err
    assert "all " in stdout and "checks passed" in stdout and f"wrote {out}" in stdout
    rows = re.findall(r"^([GD] \S+ \S+, batch (\d+)) +(\S+) .* ok$", stdout, re.M)
    assert rows and all(float(diff) <= 1e-5 for _, _, diff in rows)
    dynamic = not (framework == "ms_gan" and fmt == ONNX)
    assert sorted({int(batch) for _, batch, _ in rows}) == ([1, export.VERIFY_BATCH] if dynamic else [1])
    check_file(out, fmt, part, model, None if dynamic else 1, export.input_name(part))
    return out


@pytest.mark.parametrize("framework, fmt", CASES[:2] + [pytest.param(*CASES[2], marks=pytest.mark.slow)])
@pytest.mark.parametrize("part", NETWORKS)
def test_gan_exports_and_verifies(framework, fmt, part, tmp_path, capsys):
    run_export(framework, fmt, "gan", tmp_path, capsys, part)


@pytest.mark.slow
@pytest.mark.parametrize("framework, fmt", CASES)
@pytest.mark.parametrize("model", sorted(set(MODELS) - {"gan"}))
def test_every_model_exports_and_verifies(framework, fmt, model, tmp_path, capsys):
    for part in NETWORKS:
        run_export(framework, fmt, model, tmp_path, capsys, part)


@pytest.mark.slow
def test_a_fixed_batch_is_in_the_file_and_the_message(tmp_path, capsys):
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    for main, fmt, name in ((MS_MAIN, ONNX, "ms.onnx"), (TORCH_MAIN, ONNX, "torch.onnx"), (MS_MAIN, MINDIR, "g.mindir")):
        out = tmp_path / name
        code, stdout, err = exported(main, tmp_path, ["--checkpoint", str(checkpoint), "--format", fmt,
                                                      "--out", str(out), "--batch", "3"], capsys)
        assert code == 0, err
        assert "input 'noise' (3, 100): batch fixed at 3" in stdout and "batch 3 " in stdout
        check_file(out, fmt, GENERATOR, "gan", 3, "noise")
    code, stdout, _ = exported(MS_MAIN, tmp_path, ["--checkpoint", str(checkpoint), "--format", ONNX,
                                                   "--out", str(tmp_path / "one.onnx")], capsys)
    assert "batch fixed at 1 (MindSpore 2.8.0's ONNX exporter takes no dynamic shape; --batch N sets it)" in stdout


def test_a_wrong_export_exits_1_naming_the_network_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """A real wrong export: the Tanh of the export form made the identity."""
    class Identity(layers.Tanh):
        def construct(self, x):
            return x + 0.0

    monkeypatch.setitem(ms_gan.export.EXPORT_FORMS[ONNX], layers.Tanh, Identity)
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    out = tmp_path / "g.onnx"
    code, stdout, err = exported(MS_MAIN, tmp_path, ["--checkpoint", str(checkpoint), "--format", ONNX,
                                                     "--out", str(out)], capsys)
    assert code == 1 and "FAIL" in stdout
    assert err.startswith("export FAILED: the generator in ONNX is not the network: G ONNX image, batch 1 differs by ")
    assert len(err.splitlines()) == 1 and not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]


def test_no_verify_skips_the_check(tmp_path, capsys):
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    code, stdout, _ = exported(MS_MAIN, tmp_path, ["--checkpoint", str(checkpoint), "--net", "discriminator",
                                                   "--format", "mindir", "--out", str(tmp_path / "d.mindir"),
                                                   "--no-verify"], capsys)
    assert code == 0 and "checks passed" not in stdout and stdout.strip().endswith("not verified (--no-verify)")
    check_file(tmp_path / "d.mindir", MINDIR, DISCRIMINATOR, "gan", None, "image")


@pytest.mark.slow
def test_the_tutorials_and_the_other_frameworks_files_export(tmp_path, capsys):
    """The MindSpore tutorial's generator.ckpt (its own names), and each framework's file
    exported by the other twin through the converter."""
    g = arrays_of("dcgan")[GENERATOR]
    tutorial = tmp_path / "generator.ckpt"
    FORMAT.write(Checkpoint({GENERATOR: g}, model="dcgan"), tutorial, layout="tutorial")
    weights = tmp_path / "netD.pth"
    torch_gan.checkpoint.FORMAT.write(Checkpoint({DISCRIMINATOR: arrays_of("dcgan")[DISCRIMINATOR]}, model="dcgan"),
                                    weights)
    for main, checkpoint, fmt, net in ((MS_MAIN, tutorial, MINDIR, "generator"), (TORCH_MAIN, tutorial, ONNX, "generator"),
                                       (MS_MAIN, weights, ONNX, "discriminator")):
        out = tmp_path / f"{checkpoint.stem}-{fmt}{export.SUFFIX[fmt]}"
        code, stdout, err = exported(main, tmp_path, ["--checkpoint", str(checkpoint), "--net", net, "--format", fmt,
                                                      "--out", str(out)], capsys)
        assert code == 0 and "checks passed" in stdout, err
        assert f"the {net} of dcgan from {checkpoint}" in stdout


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(MODELS))
def test_both_frameworks_files_agree(model, capsys):
    """parity export-check: every file against its network, and MindSpore's ONNX file against
    PyTorch's on a checkpoint converted between them, within 1e-5."""
    assert parity.__main__.main(["export-check", model]) == 0
    table = capsys.readouterr().out
    for part in "GD":
        assert re.search(rf"^{part} ONNX MindSpore vs PyTorch: \w+, batch 4 .* ok$", table, re.M)
        for row in ("MindSpore: MINDIR", "MindSpore: ONNX", "PyTorch: ONNX"):
            assert f"{part} {row} " in table
    assert table.splitlines()[-1].startswith("all ") and table.splitlines()[-1].endswith(" checks passed")


@pytest.mark.slow
def test_export_check_takes_a_checkpoint_of_either_framework(tmp_path, capsys):
    checkpoint = training_checkpoint("gan_bn", tmp_path / "run.pt")
    assert parity.__main__.main(["export-check", "--checkpoint", str(checkpoint)]) == 0
    table = capsys.readouterr().out
    assert table.startswith(f"export check: gan_bn from {checkpoint}, inputs seed 0\n")
    assert "D ONNX MindSpore vs PyTorch: probability, batch 4 " in table and "all 12 checks passed" in table


# ---------------------------------------------------------------- the README's script


def readme_script():
    section = (ROOT / "README.md").read_text().split("## Generating", 1)[1].split("\n## ", 1)[0]
    return next(block for block in re.findall(r"```python\n(.*?)```", section, re.S) if "onnxruntime" in block)


def test_the_readme_script_draws_a_grid_with_onnxruntime_and_numpy_alone(tmp_path, capsys, monkeypatch):
    script = readme_script()
    assert len(script.strip().splitlines()) <= 12
    imported = set(re.findall(r"^import (\w+)", script, re.M)) | set(re.findall(r"^from (\w+)", script, re.M))
    assert imported == {"numpy", "onnxruntime"}
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    monkeypatch.chdir(tmp_path)
    assert MS_MAIN(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--batch", "16",
                    "--out", "generator.onnx"]) == 0
    exec(compile(script, "README.md", "exec"), {})
    header, pixels = (tmp_path / "grid.pgm").read_bytes().split(b"\n", 1)
    assert header == b"P5 112 112 255" and len(pixels) == 112 * 112
    assert np.frombuffer(pixels, np.uint8).std() > 10


# ---------------------------------------------------------------- bad input


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    weights_d = tmp_path / "d.ckpt"
    FORMAT.write(Checkpoint({DISCRIMINATOR: arrays_of("gan")[DISCRIMINATOR]}, model="gan"), weights_d)
    (tmp_path / "taken.onnx").write_bytes(b"keep me")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cases = [
        (TORCH_MAIN, ["--checkpoint", "run.ckpt", "--format", "mindir", "--out", "g.mindir"],
         "error: --format mindir: PyTorch 2.14.1+cu130 exports onnx; MINDIR is MindSpore's format"),
        (MS_MAIN, ["--checkpoint", "run.ckpt", "--format", "onnx", "--out", "g.mindir"],
         "error: --out g.mindir: --format onnx writes a file ending in .onnx"),
        (MS_MAIN, ["--checkpoint", "run.ckpt", "--format", "onnx", "--out", "taken.onnx"],
         "error: --out taken.onnx exists; give --force to overwrite it"),
        (MS_MAIN, ["--checkpoint", "junk.ckpt", "--format", "onnx", "--out", "g.onnx"],
         "error: junk.ckpt is not a MindSpore checkpoint (truncated or corrupt?)"),
        (MS_MAIN, ["--checkpoint", "none.ckpt", "--format", "mindir", "--out", "g.mindir"],
         "error: no checkpoint none.ckpt"),
        (MS_MAIN, ["--checkpoint", "d.ckpt", "--format", "mindir", "--out", "g.mindir"],
         "error: d.ckpt holds the discriminator of gan, not a generator"),
    ]
    for main, argv, message in cases:
        code, stdout, err = exported(main, tmp_path, argv, capsys)
        assert (code, stdout) == (2, ""), (argv, err)
        assert len(err.splitlines()) == 1 and err.startswith(message), (argv, err)
    with pytest.raises(SystemExit) as stop:
        MS_MAIN(["export", "--checkpoint", "run.ckpt", "--format", "tflite", "--out", "g.tflite"])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "error: argument --format: invalid choice: 'tflite'" in err.splitlines()[-1]
    with pytest.raises(SystemExit) as stop:
        MS_MAIN(["export", "--checkpoint", "run.ckpt", "--net", "classifier", "--format", "onnx", "--out", "g.onnx"])
    assert stop.value.code == 2 and "argument --net: invalid choice: 'classifier'" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_force_overwrites(tmp_path, capsys):
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    out = tmp_path / "g.mindir"
    out.write_bytes(b"old")
    code, _, err = exported(MS_MAIN, tmp_path, ["--checkpoint", str(checkpoint), "--format", "mindir",
                                                "--out", str(out), "--force"], capsys)
    assert code == 0 and out.read_bytes() != b"old", err


@pytest.mark.parametrize("main", [MS_MAIN, TORCH_MAIN], ids=["ms_gan", "torch_gan"])
def test_a_missing_package_names_the_extra(main, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)       # what `import onnxruntime` finds uninstalled
    checkpoint = training_checkpoint("gan", tmp_path / "run.ckpt")
    code, stdout, err = exported(main, tmp_path, ["--checkpoint", str(checkpoint), "--format", "onnx",
                                                  "--out", str(tmp_path / "g.onnx")], capsys)
    assert (code, stdout) == (2, "")
    assert err == "error: export needs onnxruntime, not installed: install the export extra, pip install -e '.[export]'\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]
