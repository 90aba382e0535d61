"""Checkpoints cross with one framework installed (docs/cross_machine.md#checkpoint-files):
the framework-free readers and writers against the frameworks' own, every layout
`parity convert` knows, and convert/generate in processes where the other framework
cannot be imported, bit for bit with the frameworks' own pipeline (each twin reads its
files with its framework and the other twin writes with its own: the converter of before)."""
import collections
import json
import os
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.checkpoint
import ms_gan.models
import torch_gan.checkpoint
import torch_gan.models
from ms_gan.train import TrainStep as MsStep
from parity.common import mindspore_files, torch_files
from parity.common.checkpoints import framework_of
from parity.common.configs import MODELS, get_config
from parity.convert import convert
from helpers.arrays import seeded_gradients
from helpers.single_framework import run_without
from torch_gan.train import TrainStep as TorchStep

DTYPES = (np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_)


def _array(dtype, shape, seed):
    values = np.random.default_rng(seed).standard_normal(shape) * 50
    return values.astype(dtype)


def _flat(value, prefix=""):
    """{"optimizer_g/state/0/exp_avg": leaf, ...} of a nested object; tensors as numpy arrays."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}/").items()}
    if isinstance(value, (list, tuple)):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}/").items()}
    return {prefix: value.detach().numpy() if isinstance(value, torch.Tensor) else value}


def _assert_same_tree(a, b):
    a, b = _flat(a), _flat(b)
    assert list(a) == list(b)
    for key in a:
        assert type(a[key]) is type(b[key]), key
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
            assert a[key].tobytes() == b[key].tobytes(), key
        else:
            assert a[key] == b[key], key


def _assert_same_file(reference, written):
    """A .ckpt byte for byte; a .pt as torch.load(weights_only=True) gives it (torch.save's
    zip records carry a random serialization id)."""
    if framework_of(reference) == "mindspore":
        assert Path(written).read_bytes() == Path(reference).read_bytes()
    else:
        _assert_same_tree(torch.load(reference, weights_only=True), torch.load(written, weights_only=True))


# ---------------------------------------------------------------- the file formats


def test_mindspore_files_are_byte_for_byte_what_save_checkpoint_writes(tmp_path):
    entries = {f"t.{np.dtype(d).name}": _array(d, (3, 2), i) for i, d in enumerate(DTYPES)}
    entries.update({"scalar": np.array(7, np.int32), "one": np.array([1.5], np.float32), "big": _array(np.float32, (40, 5), 9)})
    strings = {"config": json.dumps({"model": "dcgan", "é": [1, 2]}), "empty": ""}
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(v)} for n, v in entries.items()], str(tmp_path / "ms.ckpt"),
                       append_dict=strings)
    mindspore_files.write(entries | strings, tmp_path / "ours.ckpt")
    assert (tmp_path / "ours.ckpt").read_bytes() == (tmp_path / "ms.ckpt").read_bytes()
    read = mindspore_files.read(tmp_path / "ms.ckpt")
    assert list(read) == list(entries | strings) and read["config"] == strings["config"] and read["empty"] == ""
    for name, array in entries.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape
        assert read[name].tobytes() == array.tobytes(), name


def test_a_large_mindspore_tensor_is_sliced_as_mindspore_slices_it(tmp_path, monkeypatch):
    import mindspore.train.serialization as serialization
    monkeypatch.setattr(serialization, "SLICE_SIZE", 1)          # KiB: the 1000x7 float32 tensor is 28 slices
    monkeypatch.setattr(mindspore_files, "SLICE_KIB", 1)
    entries = {"w": _array(np.float32, (1000, 7), 1), "b": _array(np.float32, (3,), 2)}
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(v)} for n, v in entries.items()], str(tmp_path / "ms.ckpt"))
    mindspore_files.write(entries, tmp_path / "ours.ckpt")
    assert (tmp_path / "ours.ckpt").read_bytes() == (tmp_path / "ms.ckpt").read_bytes()
    assert (tmp_path / "ours.ckpt").read_bytes().count(b"\n\x01w") > 20
    np.testing.assert_array_equal(mindspore_files.read(tmp_path / "ms.ckpt")["w"], entries["w"])


def test_torch_files_load_in_torch_and_read_what_torch_saves(tmp_path):
    state = collections.OrderedDict((np.dtype(d).name, _array(d, (2, 3), i)) for i, d in enumerate(DTYPES))
    state["scalar"] = np.array(3, np.int64)
    obj = {"generator": state, "epoch": 4, "config": {"betas": (0.5, 0.999), "name": "x", "none": None},
           "optimizer_g": {"state": {0: {"step": np.array(2.0, np.float32)}}, "param_groups": [{"params": [0]}]}}
    torch_files.write(obj, tmp_path / "ours.pt")
    loaded = torch.load(tmp_path / "ours.pt", weights_only=True)
    assert isinstance(loaded["generator"], collections.OrderedDict) and loaded["generator"]["scalar"].shape == ()
    _assert_same_tree(loaded, obj)
    assert torch.load(tmp_path / "ours.pt", weights_only=True, mmap=True)["generator"]["float32"].shape == (2, 3)

    # torch.save's own: a state_dict with _metadata, a strided view, a Parameter
    g, _ = torch_gan.models.build("dcgan", seed=3)
    saved = {"state": g.state_dict(), "view": torch.arange(12.0).reshape(3, 4)[:, 1:3],
             "param": torch.nn.Parameter(torch.ones(2)), "half": torch.ones(2, dtype=torch.float16)}
    torch.save(saved, tmp_path / "torch.pt")
    _assert_same_tree(torch_files.read(tmp_path / "torch.pt"), torch.load(tmp_path / "torch.pt", weights_only=True))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_carrying_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"w": torch.zeros(1), "x": _Payload(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(torch_files.UnsafePickle, match="posix.mkdir"):
        torch_files.read(tmp_path / "evil.pt")
    assert not marker.exists()


# ---------------------------------------------------------------- every layout: sources


def _randomize_ms_stats(net, seed):
    rng = np.random.default_rng(seed)
    for name, p in net.parameters_and_names():
        if "moving_" in name:
            p.set_data(ms.Tensor(rng.uniform(0.1, 2.0, p.shape).astype(np.float32)))


def _ms_trained(model):
    step = MsStep(*ms_gan.models.build(model, seed=1), mode="pynative", loss=get_config(model).loss)
    for optimizer, net in ((step.optimizer_g, step.generator), (step.optimizer_d, step.discriminator)):
        for seed in range(2):
            optimizer(tuple(ms.Tensor(g) for g in seeded_gradients([p.shape for p in net.trainable_params()], seed)))
    return step


def _torch_trained(model):
    step = TorchStep(*torch_gan.models.build(model, seed=2), loss=get_config(model).loss)
    for optimizer, net in ((step.optimizer_g, step.generator), (step.optimizer_d, step.discriminator)):
        for seed in range(2):
            for p, g in zip(net.parameters(), seeded_gradients([p.shape for p in net.parameters()], seed)):
                p.grad = torch.from_numpy(g)
            optimizer.step()
    return step


def _nn_adam_file(path):
    """A training checkpoint whose D state is MindSpore's nn.Adam (moment1/2, beta powers)."""
    g, d = ms_gan.models.build("dcgan", seed=4)
    adam = ms.nn.Adam(d.trainable_params(), learning_rate=2e-4, beta1=0.5, beta2=0.999)
    for seed in range(3):
        adam(tuple(ms.Tensor(g) for g in seeded_gradients([p.shape for p in d.trainable_params()], seed)))
    weights = {p.name for p in d.trainable_params()}
    entries = ([{"name": f"generator.{n}", "data": p} for n, p in g.parameters_and_names()]
               + [{"name": f"discriminator.{n}", "data": p} for n, p in d.parameters_and_names()]
               + [{"name": f"optimizer_d.{n}", "data": p} for n, p in adam.parameters_and_names() if n not in weights]
               + [{"name": "epoch", "data": ms.Tensor(np.int32(1))}])
    ms.save_checkpoint(entries, str(path), append_dict={"config": json.dumps({"model": "dcgan"})})


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """{file: --model or None}: the project's weights and training files of both frameworks
    (training: every model), the MindSpore tutorial's generator.ckpt, pytorch/examples'
    netD.pth, nn.Adam state."""
    folder = tmp_path_factory.mktemp("sources")
    g, d = ms_gan.models.build("dcgan", seed=1)
    _randomize_ms_stats(g, 2)
    ms.save_checkpoint(g, str(folder / "g.ckpt"))
    tutorial = [{"name": "generator." + n[len("main."):], "data": p} for n, p in g.parameters_and_names()]
    ms.save_checkpoint(tutorial, str(folder / "generator.ckpt"))
    torch_g, torch_d = torch_gan.models.build("dcgan", seed=3)
    torch.save(torch_g.state_dict(), folder / "g.pth")
    torch.save(torch_d.state_dict(), folder / "netD.pth")
    _nn_adam_file(folder / "nn_adam.ckpt")
    for model in sorted(MODELS):
        config = {"model": model, "lr": 2e-4, "beta1": 0.5}
        ms_gan.checkpoint.FORMAT.save_training_checkpoint(folder / f"{model}.ckpt", _ms_trained(model), 3, config)
        torch_gan.checkpoint.FORMAT.save_training_checkpoint(folder / f"{model}.pt", _torch_trained(model), 3, config)
    weights = {"g.ckpt", "generator.ckpt", "g.pth", "netD.pth"}
    return {path: "dcgan" if path.name in weights else None for path in sorted(folder.iterdir())}


def _jobs(sources, out):
    """(src, dst, --model, --layout) of every conversion: each file to the other framework,
    one network's weights also in the tutorial layout."""
    jobs = []
    for src, model in sources.items():
        suffix = ".pt" if src.suffix == ".ckpt" else ".ckpt"
        jobs.append((src, out / f"{src.name}{suffix}", model, "project"))
        if model:
            jobs.append((src, out / f"{src.name}.tutorial{suffix}", model, "tutorial"))
    return jobs


def _native(src, dst, model, layout):
    """The converter of before: the source's twin reads it with its framework, the other
    twin writes it with its own (mindspore.save_checkpoint, torch.save)."""
    readers = {"mindspore": ms_gan.checkpoint.FORMAT, "torch": torch_gan.checkpoint.FORMAT}
    ck = readers[framework_of(src)].read(src, model)
    readers[framework_of(dst)].write(ck, dst, layout)


def test_every_layout_converts_as_the_frameworks_own_pipeline(sources, tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "native").mkdir()
    for src, dst, model, layout in _jobs(sources, tmp_path / "ours"):
        convert(src, dst, model, layout)
        reference = tmp_path / "native" / dst.name
        _native(src, reference, model, layout)
        _assert_same_file(reference, dst)


# ---------------------------------------------------------------- one framework installed


CONVERT_ALL = """
import json
from parity.__main__ import main
for src, dst, model, layout in json.loads(sys.argv[1]):
    code = main(["convert", src, dst, "--layout", layout] + (["--model", model] if model else []))
    assert code == 0, (src, dst)
assert {"torch", "mindspore"} & {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None} == {sys.argv[2]}
"""


@pytest.mark.slow
@pytest.mark.parametrize("installed", ["mindspore", "torch"])
def test_convert_with_one_framework_installed(sources, tmp_path, installed):
    other = "torch" if installed == "mindspore" else "mindspore"
    jobs = _jobs(sources, tmp_path)
    result = run_without(other, CONVERT_ALL, json.dumps([[str(s), str(d), m, layout] for s, d, m, layout in jobs]),
                      installed)
    assert result.returncode == 0, result.stderr[-3000:]
    (tmp_path / "native").mkdir()
    for src, dst, model, layout in jobs:
        reference = tmp_path / "native" / dst.name
        _native(src, reference, model, layout)
        _assert_same_file(reference, dst)


GENERATE = """
import importlib
main = importlib.import_module(sys.argv[1] + ".__main__").main
sys.exit(main(["generate", "--checkpoint", sys.argv[2], "--n", "8", "--seed", "3", "--out", sys.argv[3]]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("twin, foreign", [("ms_gan", "dcgan.pt"), ("torch_gan", "dcgan.ckpt"),
                                           ("ms_gan", "g.pth"), ("torch_gan", "generator.ckpt")])
def test_generate_reads_the_other_frameworks_checkpoint_without_it(sources, tmp_path, twin, foreign):
    """generate on the other framework's file, that framework unimportable, draws the same
    image as generate on the file converted by the frameworks' own pipeline."""
    src = next(path for path in sources if path.name == foreign)
    own = tmp_path / (f"{src.stem}.ckpt" if twin == "ms_gan" else f"{src.stem}.pt")
    _native(src, own, sources[src], "project")
    other = "torch" if twin == "ms_gan" else "mindspore"
    foreign_run = run_without(other, GENERATE, twin, src, tmp_path / "foreign.png")
    assert foreign_run.returncode == 0, foreign_run.stderr[-3000:]
    own_run = run_without(other, GENERATE, twin, own, tmp_path / "own.png")
    assert own_run.returncode == 0, own_run.stderr[-3000:]
    assert (tmp_path / "foreign.png").read_bytes() == (tmp_path / "own.png").read_bytes()
