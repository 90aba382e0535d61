"""Every command's numeric flags are checked at parsing (exit 2, one line naming the flag and
what is allowed, nothing created), and every flag says what it does and its default."""
import argparse
import subprocess
import sys

import pytest

import data_scripts.__main__
import ms_gan.__main__
import parity.__main__
import torch_gan.__main__
from ms_gan.device import DEVICES as MS_DEVICES
from parity.common.arguments import bounded
from parity.common.command_line import build_parser
from torch_gan.device import DEVICES as TORCH_DEVICES

MAINS = {"ms_gan": ms_gan.__main__.main, "torch_gan": torch_gan.__main__.main,
         "parity": parity.__main__.main, "data_scripts": data_scripts.__main__.main}
TWINS = ("ms_gan", "torch_gan")

# (command line, the flag, its bad value, what the message allows)
BAD = [
    ("train", "--epochs", "0", "an integer >= 1"),
    ("train", "--epochs", "-1", "an integer >= 1"),
    ("train", "--epochs", "two", "an integer >= 1"),
    ("train", "--batch-size", "0", "an integer >= 1"),
    ("train", "--batch-size", "-5", "an integer >= 1"),
    ("train", "--lr", "0", "a number > 0"),
    ("train", "--lr", "nan", "a number > 0"),
    ("train", "--beta1", "1", "a number >= 0 and < 1"),
    ("train", "--beta1", "-0.1", "a number >= 0 and < 1"),
    ("train", "--seed", "-1", "an integer >= 0"),
    ("train", "--workers", "-1", "an integer >= 0"),
    ("train", "--log-every", "-1", "an integer >= 0"),
    ("train", "--labels", "0", "an integer >= 1"),
    ("generate --checkpoint none.ckpt", "--n", "0", "an integer >= 1"),
    ("generate --checkpoint none.ckpt", "--n", "-3", "an integer >= 1"),
    ("generate --checkpoint none.ckpt", "--seed", "-1", "an integer >= 0"),
    ("evaluate --checkpoint none.ckpt --data none", "--batch-size", "0", "an integer >= 1"),
    ("evaluate --checkpoint none.ckpt --data none", "--workers", "-2", "an integer >= 0"),
    ("export --checkpoint none.ckpt --format onnx --out g.onnx", "--batch", "0", "an integer >= 1"),
    ("export --checkpoint none.ckpt --format onnx --out g.onnx", "--seed", "-1", "an integer >= 0"),
]
PARITY_BAD = [
    ("check dcgan --json x.json", "--batch", "1", "an integer >= 2"),
    ("check dcgan --json x.json", "--seed", "-1", "an integer >= 0"),
    ("trajectory dcgan --json x.json", "--steps", "0", "an integer >= 1"),
    ("trajectory dcgan --json x.json", "--batch", "0", "an integer >= 2"),
    ("bench --json x.json", "--batch", "0", "an integer >= 2"),
    ("bench --json x.json", "--repeats", "0", "an integer >= 1"),
    ("bench --json x.json", "--steps", "-1", "an integer >= 1"),
    ("bench --json x.json", "--images", "0", "an integer >= 1"),
    ("bench --json x.json", "--workers", "-1", "an integer >= 0"),
    ("sgan-study --train t --test t --out study", "--labels", "0", "an integer >= 1"),
    ("sgan-study --train t --test t --out study", "--epochs", "0", "an integer >= 1"),
    ("sgan-study --train t --test t --out study", "--batch-size", "0", "an integer >= 1"),
    ("sgan-study --train t --test t --out study", "--seed", "-1", "an integer >= 0"),
    ("bench-workers --json x.json", "--epochs", "1", "an integer >= 2"),
    ("bench-workers --json x.json", "--images", "0", "an integer >= 1"),
    ("bench-workers --json x.json", "--worker-counts", "0", "an integer >= 1"),
]


def refused(main, argv, capsys):
    """(exit status, stderr) of a command line that must stop at parsing."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize("framework", TWINS)
@pytest.mark.parametrize("command, flag, value, allowed", BAD)
def test_twins_refuse_bad_numbers_at_parsing(framework, command, flag, value, allowed, tmp_path, monkeypatch,
                                              capsys):
    monkeypatch.chdir(tmp_path)
    # --data/--checkpoint that do not exist: had the value got through, the command would
    # have failed on them, with a message that does not name the flag.
    argv = command.split() + [flag, value]
    if command == "train":
        argv += ["--data", "none", "--out", "run"]
    elif command.startswith("generate"):
        argv += ["--out", "grid.png"]
    code, err = refused(MAINS[framework], argv, capsys)
    assert code == 2
    assert err.splitlines()[-1].endswith(f"error: argument {flag}: must be {allowed}, not {value}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command, flag, value, allowed", PARITY_BAD)
def test_parity_refuses_bad_numbers_at_parsing(command, flag, value, allowed, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, err = refused(MAINS["parity"], command.split() + [flag, value], capsys)
    assert code == 2 and err.splitlines()[-1].endswith(f"error: argument {flag}: must be {allowed}, not {value}")
    assert list(tmp_path.iterdir()) == []


def test_data_scripts_refuses_a_bad_count(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, err = refused(MAINS["data_scripts"], ["faces", "--root", "ds", "--count", "0"], capsys)
    assert code == 2 and err.splitlines()[-1].endswith("error: argument --count: must be an integer >= 1, not 0")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_real_command_line_stops_before_training(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ms_gan", "train", "--batch-size", "-5", "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines()[-1] == ("python -m ms_gan train: error: argument --batch-size: "
                                           "must be an integer >= 1, not -5")
    assert list(tmp_path.iterdir()) == []


def test_bounded_accepts_the_allowed_range():
    beta = bounded(float, 0, below=1)
    assert beta("0") == 0.0 and beta("0.999") == 0.999
    for bad in ("1", "-0.1", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="must be a number >= 0 and < 1"):
            beta(bad)
    assert bounded(int, 1)("7") == 7


def parsers():
    """(name, parser) of every command of every package."""
    tops = {"ms_gan": build_parser("python -m ms_gan", MS_DEVICES, "CPU"),
            "torch_gan": build_parser("python -m torch_gan", TORCH_DEVICES, "cpu"),
            "parity": parity.__main__.build_parser(), "data_scripts": data_scripts.__main__.build_parser()}
    for package, top in tops.items():
        commands = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
        if not commands:
            yield package, top
        for action in commands:
            for name, parser in action.choices.items():
                yield f"{package} {name}", parser


@pytest.mark.parametrize("name, parser", list(parsers()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_flag_has_a_help_text_with_its_default(name, parser):
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.dest}: no help text"
        switch = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if action.option_strings and not action.required and not switch:
            assert "default" in action.help, f"{name} {action.option_strings[0]}: no default in {action.help!r}"


@pytest.mark.slow
def test_train_help_names_the_default_model():
    text = build_parser("python -m ms_gan", MS_DEVICES, "CPU")._subparsers._group_actions[0].choices["train"] \
        .format_help()
    assert "the model (default cnn_gan on the embedded digits, dcgan with --data" in " ".join(text.split())


def test_console_scripts_name_themselves_and_each_command_has_its_own_help(monkeypatch, capsys):
    """Run as `ms-gan`, usage says `ms-gan`; `train` has a description; `data_scripts faces
    --help` is the faces command's help; bench and convert --model list the models."""
    monkeypatch.setattr(sys, "argv", ["/venv/bin/ms-gan"])
    with pytest.raises(SystemExit):
        MAINS["ms_gan"](["train", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: ms-gan train") and "leave checkpoints, sample grids" in " ".join(out.split())
    with pytest.raises(SystemExit):
        MAINS["data_scripts"](["faces", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m data_scripts faces") and "--count" in out and "--split" not in out
    for command in ("bench", "convert"):
        with pytest.raises(SystemExit):
            MAINS["parity"]([command, "--help"])
        assert "cnn_gan, dcgan, dcgan_mnist, gan, gan_bn, sgan" in " ".join(capsys.readouterr().out.split())
