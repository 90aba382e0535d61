"""`parity dump` with one framework importable, `parity compare` with neither
(docs/cross_machine.md): equal twins compare as equal, other weights or inputs are refused
naming what differs, a wrong twin is caught at its layer."""
import json

import numpy as np
import pytest

from parity.common.configs import MODELS
from helpers.single_framework import PARITY, compare, dump, run_without


@pytest.fixture(scope="module")
def gan_dumps(gan_bn_dump, gan_bn_torch_dump):
    """(folder, MindSpore's manifest, PyTorch's): parity_api/conftest.py's dumps of gan_bn."""
    folder, ms_manifest = gan_bn_dump
    return folder, ms_manifest, gan_bn_torch_dump


def test_a_dump_describes_itself(gan_dumps):
    folder, manifest, torch_manifest = gan_dumps
    assert manifest["format"] == "parity-dump" and manifest["steps"] == 2 and manifest["batch"] == 4
    env = manifest["environment"]
    assert env["framework"] == "mindspore" and env["device"] == "CPU" and env["dtype"] == "float32"
    assert "--framework mindspore" in env["command"] and env["numpy"] == np.__version__
    assert torch_manifest["environment"]["framework"] == "torch"
    assert manifest["checksums"] == torch_manifest["checksums"]      # same weights, same inputs
    layers = [entry["name"] for entry in manifest["layers"]["G"]]
    assert layers == [entry["name"] for entry in torch_manifest["layers"]["G"]]
    kinds = {key.split("/")[2] for key in manifest["tensors"] if key.split("/")[1] in ("G", "D")}
    assert kinds == {"forward", "backward", "state", "gradient"}
    assert f"0/D/gradient/{manifest['layers']['D'][0]['name']}.weight" in manifest["tensors"]
    entry = manifest["tensors"][f"0/G/forward/{layers[0]}/output"]
    array = np.load(folder / "ms" / entry["file"])
    assert list(array.shape) == entry["shape"] and entry["max"] == pytest.approx(float(array.max()))
    assert f"1/weights/D/{next(iter(k.split('/')[3] for k in manifest['tensors'] if '/weights/D/' in k))}" \
        in manifest["tensors"]
    with np.load(folder / "ms" / "inputs.npz") as inputs:
        assert sorted(inputs.files) == ["real0", "real1", "z0", "z1"]


def test_twins_compare_as_equal_with_neither_framework(gan_dumps, tmp_path):
    folder, _, _ = gan_dumps
    result = compare(folder / "ms", folder / "torch", "--json", tmp_path / "c.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "first diverging layer, forward: none" in result.stdout
    record = json.loads((tmp_path / "c.json").read_text())
    step0 = [r for r in record["rows"] if r["judged"]]
    assert len(step0) > 20 and all(r["passed"] for r in step0)
    assert min(r["cosine"] for r in step0 if r["kind"] in ("forward", "backward")) > 0.99999
    assert len([r for r in step0 if r["kind"] == "gradient"]) >= 8


@pytest.mark.slow     # dumps of its own: a process each
def test_other_weights_or_inputs_are_refused(gan_dumps, tmp_path):
    folder, _, _ = gan_dumps
    dump("torch", "gan_bn", tmp_path / "seed1", "--seed", "1", "--steps", "2", "--batch", "4")
    result = compare(folder / "ms", tmp_path / "seed1")
    assert result.returncode == 2
    assert "weights: the dumps start from different weights" in result.stderr
    assert "inputs: the dumps start from different inputs" in result.stderr


@pytest.mark.slow     # dumps of its own: a process each
def test_stats_level_is_small_and_compares(gan_dumps, tmp_path):
    folder, _, _ = gan_dumps
    dump("torch", "gan_bn", tmp_path / "stats", "--inputs", folder / "ms", "--level", "stats")
    assert not list((tmp_path / "stats" / "tensors").iterdir())
    result = compare(folder / "torch", tmp_path / "stats")      # the same run: every checksum equal
    assert result.returncode == 0 and "0 past tolerance" in result.stdout, result.stdout + result.stderr


def test_a_wrong_twin_is_caught_at_its_layer(gan_dumps, gan_bn_wrong_dump, tmp_path):
    folder, manifest, _ = gan_dumps
    result = compare(folder / "ms", gan_bn_wrong_dump, "--json", tmp_path / "c.json")
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads((tmp_path / "c.json").read_text())["summary"]
    leaky = [e["name"] for e in manifest["layers"]["G"] if e["kind"] == "LeakyReLU"][0]
    assert summary["first_forward"]["layer"] == leaky and summary["first_forward"]["net"] == "G"
    assert f"first diverging layer, forward: step 0, G {leaky} output" in result.stdout


def test_bad_input_is_one_line_and_creates_nothing(tmp_path):
    result = run_without("both", PARITY, "compare", tmp_path / "nope", tmp_path / "nope2")
    assert result.returncode == 2 and result.stderr.startswith("error:") and "no manifest.json" in result.stderr
    (tmp_path / "taken").mkdir()
    taken = run_without("torch", PARITY, "dump", "gan_bn", "--framework", "mindspore", "--out", tmp_path / "taken")
    assert taken.returncode == 2 and "exists" in taken.stderr


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_compares_as_equal_across_processes(model, tmp_path):
    dump("mindspore", model, tmp_path / "ms", "--steps", "1", "--batch", "4")
    dump("torch", model, tmp_path / "torch", "--inputs", tmp_path / "ms")
    result = compare(tmp_path / "ms", tmp_path / "torch")
    assert result.returncode == 0, result.stdout + result.stderr


FACTORIES = {
    "ms_net.py": """
import mindspore as ms
import numpy as np

def build(slope=0.2):
    rng = np.random.default_rng(5)
    net = ms.nn.SequentialCell(ms.nn.Dense(8, 6), ms.nn.LeakyReLU(slope), ms.nn.Dense(6, 3))
    for name, param in net.parameters_and_names():
        param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32)))
    return net
""",
    "torch_net.py": """
import numpy as np
import torch

def build(slope=0.2):
    rng = np.random.default_rng(5)
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.LeakyReLU(slope), torch.nn.Linear(6, 3))
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(torch.from_numpy(rng.standard_normal(tuple(param.shape)).astype(np.float32)))
    return net

def wrong():
    return build(slope=0.3)
"""}


@pytest.mark.slow     # dumps of its own: a process each
def test_a_porters_own_network_from_a_factory(tmp_path):
    for name, text in FACTORIES.items():
        (tmp_path / name).write_text(text)
    path = f"sys.path.insert(0, {str(tmp_path)!r})\n"
    runs = {"ms": ("torch", "ms_net:build", "mindspore", ["--input-shape", "5,8"]),
            "torch": ("mindspore", "torch_net:build", "torch", ["--inputs", tmp_path / "ms" / "inputs.npz"]),
            "wrong": ("mindspore", "torch_net:wrong", "torch", ["--inputs", tmp_path / "ms" / "inputs.npz"])}
    for out, (blocked, factory, framework, extra) in runs.items():
        result = run_without(blocked, path + PARITY, "dump", "--factory", factory, "--framework", framework,
                             "--out", tmp_path / out, *extra)
        assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "ms" / "manifest.json").read_text())
    assert manifest["factory"] == "ms_net:build" and [e["name"] for e in manifest["layers"]["net"]] == ["0", "1", "2"]
    same = compare(tmp_path / "ms", tmp_path / "torch")
    assert same.returncode == 0, same.stdout + same.stderr
    wrong = compare(tmp_path / "ms", tmp_path / "wrong")
    assert wrong.returncode == 1 and "first diverging layer, forward: step 0, net 1 output" in wrong.stdout, \
        wrong.stdout


def test_both_dumps_hold_the_same_tensors(gan_dumps):
    """Every key pairs: BatchNorm's weight gradient is gamma's on both sides, and so on."""
    _, ms_manifest, torch_manifest = gan_dumps
    assert sorted(ms_manifest["tensors"]) == sorted(torch_manifest["tensors"])
    assert any("/gradient/" in k and k.endswith(".gamma") for k in ms_manifest["tensors"])


RENAMED = {
    "ms_named.py": """
import mindspore as ms
import numpy as np

class Block(ms.nn.Cell):
    def __init__(self):
        super().__init__()
        self.proj = ms.nn.Dense(8, 6)
        self.norm = ms.nn.LayerNorm((6,), epsilon=1e-5)

    def construct(self, x):
        return self.norm(self.proj(x))

def build():
    rng = np.random.default_rng(7)
    net = Block()
    for name, param in net.parameters_and_names():
        param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32)))
    return net
""",
    "torch_named.py": """
import numpy as np
import torch

class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 6)
        self.ln = torch.nn.LayerNorm(6)

    def forward(self, x):
        return self.ln(self.linear(x))

def build():
    rng = np.random.default_rng(7)
    net = Block()
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(torch.from_numpy(rng.standard_normal(tuple(param.shape)).astype(np.float32)))
    return net
"""}


@pytest.mark.slow     # dumps of its own: a process each
def test_ports_with_other_names_pair_through_a_mapping_and_the_rules(tmp_path):
    """Layer paths through --mapping, LayerNorm's gamma/beta to weight/bias through the rule table."""
    for name, text in RENAMED.items():
        (tmp_path / name).write_text(text)
    path = f"sys.path.insert(0, {str(tmp_path)!r})\n"
    runs = {"ms": ("torch", "ms_named:build", "mindspore", ["--input-shape", "5,8"]),
            "torch": ("mindspore", "torch_named:build", "torch", ["--inputs", tmp_path / "ms" / "inputs.npz"])}
    for out, (blocked, factory, framework, extra) in runs.items():
        result = run_without(blocked, path + PARITY, "dump", "--factory", factory, "--framework", framework,
                             "--out", tmp_path / out, *extra)
        assert result.returncode == 0, result.stderr[-3000:]
    unmapped = compare(tmp_path / "ms", tmp_path / "torch")
    assert unmapped.returncode == 1 and "proj, norm only in A; linear, ln only in B" in unmapped.stdout, unmapped.stdout
    (tmp_path / "mapping.json").write_text(json.dumps({"proj": "linear", "norm": "ln"}))
    mapped = compare(tmp_path / "ms", tmp_path / "torch", "--mapping", tmp_path / "mapping.json",
                     "--json", tmp_path / "rows.json")
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    keys = {row["key"] for row in json.loads((tmp_path / "rows.json").read_text())["rows"]}
    assert {"0/net/gradient/norm.gamma", "0/net/gradient/norm.beta", "0/net/forward/norm/output"} <= keys, keys
    (tmp_path / "bad.json").write_text("[1, 2]")
    bad = compare(tmp_path / "ms", tmp_path / "torch", "--mapping", tmp_path / "bad.json")
    assert bad.returncode == 2 and "--mapping" in bad.stderr.strip().splitlines()[-1]
