"""parity.testing on a zoo of small ports (tests/ports/): every standard layer pairs by
its class's rule, each faithful port passes in train and eval mode at the default
tolerances, and each common porting mistake is refused naming the layer and the setting
in both frameworks' terms, before any number is compared."""
import json

import numpy as np
import pytest

from parity.pairing import SettingsDiffer
from parity.testing import assert_parity, parity_pair  # noqa: F401  (parity_pair: a fixture)
from ports import ms_zoo, torch_zoo


def _encoder(pair):
    return pair.inputs((2, 5, 16))


def _unet(pair):
    return pair.inputs((2, 4, 8, 8))


def _tagger(pair):
    return pair.tokens((3, 7), 20)


def _style(pair):
    return pair.inputs((2, 3, 8, 8))


def _audio(pair):
    return pair.inputs((4, 1, 32))


# port -> (MindSpore keyword arguments of the faithful port, its inputs). Dropout's masks
# come from each framework's own RNG: the encoder is compared with p=0 in train mode and
# with p=0.1 in eval mode, where dropout is the identity in both.
ZOO = {"EncoderBlock": _encoder, "UNetBlock": _unet, "Tagger": _tagger, "StyleBlock": _style,
       "AudioBlock": _audio}


def _twins(name, train, **mistakes):
    kwargs = {"dropout": 0.0} if name == "EncoderBlock" and train else {}
    return getattr(ms_zoo, name)(**kwargs, **mistakes), getattr(torch_zoo, name)(**kwargs)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_a_faithful_port_passes(parity_pair, name, train):
    pair = parity_pair(*_twins(name, train))
    checks = pair.assert_parity(ZOO[name](pair), train=train)
    assert all(c.passed for c in checks) and len(checks) > 1


# mistake -> (port, the MindSpore port's wrong keyword arguments, the refusal's lines)
MISTAKES = {
    "LayerNorm epsilon left at MindSpore's default": (
        "EncoderBlock", {"epsilon": 1e-7}, ("norm1 (LayerNorm): MindSpore epsilon 1e-07, PyTorch eps 1e-05",
                                         "norm2 (LayerNorm): MindSpore epsilon 1e-07, PyTorch eps 1e-05")),
    "GELU approximate left at MindSpore's default": (
        "EncoderBlock", {"approximate": True}, "mlp.1 (GELU): MindSpore approximate tanh, PyTorch approximate none"),
    "dropout keep_prob given PyTorch's p": (
        "EncoderBlock", {"keep_prob": 0.1}, "attn_drop (Dropout): MindSpore p/keep_prob keep_prob 0.1, PyTorch p 0.1"),
    "BatchNorm momentum written PyTorch's way": (
        "AudioBlock", {"momentum": 0.1}, "bn (BatchNorm1d): MindSpore momentum 0.1 (PyTorch's 0.9), PyTorch momentum 0.1"),
    "LeakyReLU slope": (
        "AudioBlock", {"slope": 0.01}, "act (LeakyReLU): MindSpore alpha 0.01, PyTorch negative_slope 0.2"),
    "Conv1d stride": ("AudioBlock", {"stride": 1}, "conv (Conv1d): MindSpore stride (1,), PyTorch stride (2,)"),
    "Conv2d padding": ("UNetBlock", {"pad_mode": "valid"},
                       "down.0 (Conv2d): MindSpore pad_mode/padding pad_mode 'valid', PyTorch padding (1, 1)"),
    "MaxPool2d stride left at MindSpore's default": (
        "UNetBlock", {"pool_stride": 1}, "down.3 (MaxPool2d): MindSpore stride (1, 1), PyTorch stride (2, 2)"),
    "GroupNorm epsilon": ("UNetBlock", {"eps": 1e-6}, ("down.1 (GroupNorm): MindSpore eps 1e-06, PyTorch eps 1e-05",
                                                      "up.2 (GroupNorm): MindSpore eps 1e-06, PyTorch eps 1e-05")),
    "InstanceNorm (as GroupNorm) epsilon": (
        "StyleBlock", {"eps": 1e-3}, "norm (GroupNorm): MindSpore eps 0.001, PyTorch eps 1e-05"),
    "LSTM one-directional": ("Tagger", {"bidirectional": False},
                             "lstm (LSTM): MindSpore bidirectional False, PyTorch bidirectional True"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_wrong_setting_is_named_before_the_numbers(mistake):
    name, wrong, lines = MISTAKES[mistake]
    ms_model, torch_model = _twins(name, False, **wrong)
    with pytest.raises(SettingsDiffer) as refused:
        assert_parity(ms_model, torch_model, np.zeros((1,), np.float32))   # no number is compared
    lines = (lines,) if isinstance(lines, str) else lines
    assert str(refused.value).splitlines() == ["the twins' layers are set differently:"] + [f"  {x}" for x in lines]


# ---------------------------------------------------------------- the command line

def _check(capsys, *argv):
    from parity.__main__ import main
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_checks_a_porters_own_models(capsys):
    code, out, _ = _check(capsys, "--ms-model", "tests/ports/ms_zoo.py:encoder_block",
                          "--torch-model", "tests/ports/torch_zoo.py:encoder_block", "--input-shape", "2,5,16")
    assert code == 0, out
    assert "settings: the 12 paired layers agree" in out and "all 34 checks passed" in out
    assert "note: dropout (attn_drop, mlp.2) off in train mode" in out


def test_the_command_line_takes_token_inputs_and_shows_the_layers(capsys):
    code, out, _ = _check(capsys, "--ms-model", "ports.ms_zoo:tagger", "--torch-model", "ports.torch_zoo:tagger",
                          "--input-shape", "3,7", "--tokens", "20", "--layers")
    assert code == 0, out
    assert "lstm (LSTM) forward" in out and "emb (Embedding) forward" in out and "checks passed" in out


def test_the_command_line_names_a_setting_before_the_numbers(capsys, tmp_path):
    code, out, _ = _check(capsys, "--ms-model", "tests/ports/ms_zoo.py:encoder_block_default_epsilon",
                          "--torch-model", "tests/ports/torch_zoo.py:encoder_block", "--input-shape", "2,5,16",
                          "--json", str(tmp_path / "r.json"))
    assert code == 1
    lines = ["norm1 (LayerNorm): MindSpore epsilon 1e-07, PyTorch eps 1e-05",
             "norm2 (LayerNorm): MindSpore epsilon 1e-07, PyTorch eps 1e-05"]
    assert out.splitlines()[1:] == ["settings differ (compared before any number):"] + [f"  {x}" for x in lines]
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["passed"] is False and record["settings"] == lines and record["checks"] == []


@pytest.mark.parametrize("argv, message", [
    (["--ms-model", "ports.ms_zoo:tagger", "--torch-model", "ports.torch_zoo:tagger"],
     "check: --ms-model, --torch-model and --input-shape go together"),
    (["--ms-model", "a:b", "--torch-model", "c:d", "--input-shape", "2,x"],
     "argument --input-shape: must be positive integers separated by commas, e.g. 2,3,32,32, not 2,x"),
    (["dcgan", "--ms-model", "a:b", "--torch-model", "c:d", "--input-shape", "2"],
     "check: give the model dcgan or --ms-model/--torch-model, not both"),
])
def test_the_command_line_refuses_bad_input(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        _check(capsys, *argv)
    assert exited.value.code == 2 and capsys.readouterr().err.splitlines()[-1].endswith(message)


def test_the_command_line_refuses_a_missing_factory(capsys):
    code, _, err = _check(capsys, "--ms-model", "ports.ms_zoo:nothing", "--torch-model", "ports.torch_zoo:tagger",
                          "--input-shape", "3,7")
    assert code == 2 and err.strip() == "error: --ms-model ports.ms_zoo:nothing: ports.ms_zoo has no nothing"


# ---------------------------------------------------------------- parity convert


def test_convert_carries_a_porters_checkpoint_both_ways(tmp_path, capsys):
    """The audio block's Conv1d kernels change layout, its BatchNorm names; the file read
    back holds the original's values exactly."""
    import mindspore as ms
    import torch

    from parity.__main__ import main

    original = torch_zoo.AudioBlock()
    with torch.no_grad():
        original.bn.running_mean.uniform_(-1, 1)
    torch.save(original.state_dict(), tmp_path / "audio.pt")
    models = ["--ms-model", "ports.ms_zoo:AudioBlock", "--torch-model", "ports.torch_zoo:AudioBlock"]
    assert main(["convert", str(tmp_path / "audio.pt"), str(tmp_path / "audio.ckpt"), *models]) == 0
    assert capsys.readouterr().out.strip().endswith("-> %s (MindSpore) through ports.ms_zoo:AudioBlock and "
                                                    "ports.torch_zoo:AudioBlock: 10 tensors" % (tmp_path / "audio.ckpt"))
    ckpt = ms.load_checkpoint(str(tmp_path / "audio.ckpt"))
    np.testing.assert_array_equal(ckpt["bn.moving_mean"].asnumpy(), original.bn.running_mean.numpy())
    np.testing.assert_array_equal(ckpt["conv.weight"].asnumpy()[:, :, 0], original.conv.weight.detach().numpy())
    assert main(["convert", str(tmp_path / "audio.ckpt"), str(tmp_path / "back.pt"), *models]) == 0
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    for name, value in original.state_dict().items():
        if name != "bn.num_batches_tracked":      # MindSpore has none: the fresh model's 0
            np.testing.assert_array_equal(back[name].numpy(), value.numpy())


def test_convert_refuses_a_checkpoint_of_another_model(tmp_path, capsys):
    import torch

    from parity.__main__ import main

    torch.save(torch_zoo.StyleBlock().state_dict(), tmp_path / "style.pt")
    code = main(["convert", str(tmp_path / "style.pt"), str(tmp_path / "x.ckpt"),
                 "--ms-model", "ports.ms_zoo:AudioBlock", "--torch-model", "ports.torch_zoo:AudioBlock"])
    assert code == 2 and not (tmp_path / "x.ckpt").exists()
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'style.pt'}: does not fit the PyTorch model: "
                                              "Error(s) in loading state_dict for AudioBlock:")
