"""One rule for every output file of every command (parity.common.files.check_output_file)
and one device vocabulary (parity.common.devices): refused in one line before any work."""
import subprocess
import sys

import pytest

import parity.__main__
from helpers.runs import FRAMEWORKS
from parity.common import devices
from parity.common.command_line import build_parser

MS_MAIN, TORCH_MAIN = FRAMEWORKS["ms_gan"][0], FRAMEWORKS["torch_gan"][0]


def _commands(out):
    """(main, argv) of every command with an output file, the file `out`; each input is one
    that does not exist (or a device this machine lacks), so nothing but the output check
    runs first."""
    return [(MS_MAIN, ["generate", "--checkpoint", "none.ckpt", "--out", out]),
            (TORCH_MAIN, ["generate", "--checkpoint", "none.pt", "--out", out]),
            (MS_MAIN, ["evaluate", "--checkpoint", "none.ckpt", "--data", "none", "--json", out]),
            (TORCH_MAIN, ["evaluate", "--checkpoint", "none.pt", "--data", "none", "--json", out]),
            (parity.__main__.main, ["check", "dcgan", "--device", "ascend", "--json", out]),
            (parity.__main__.main, ["check", "dcgan", "--device", "ascend", "--markdown", out]),
            (parity.__main__.main, ["fid", "none", "none", "--features", "digit", "--json", out]),
            (parity.__main__.main, ["trajectory", "dcgan", "--device", "ascend", "--plot", out]),
            (parity.__main__.main, ["convert", "none.ckpt", out]),
            (parity.__main__.main, ["digit-classifier", "--out", out])]


@pytest.mark.parametrize("index", range(len(_commands("x"))))
def test_a_folder_as_an_output_file_is_refused_in_one_line(index, tmp_path, capsys):
    main, argv = _commands(str(tmp_path))[index]
    assert main(argv) == 2
    flag = argv[argv.index(str(tmp_path)) - 1] if argv[-2].startswith("--") else "DST"
    assert capsys.readouterr().err == f"error: {flag} {tmp_path} is a folder; give a file's path\n"


@pytest.mark.parametrize("index", range(len(_commands("x")) - 1))     # digit-classifier has no input to miss
def test_an_existing_output_file_is_kept_unless_forced(index, tmp_path, capsys):
    out = tmp_path / "taken.txt"
    out.write_text("mine")
    main, argv = _commands(str(out))[index]
    assert main(argv) == 2
    assert "exists; kept (give --force to replace it)" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 2                  # now the missing input is what stops it
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "exists" not in err
    assert out.read_text() == "mine"


def test_an_output_file_where_no_folder_can_be_made_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert MS_MAIN(["generate", "--checkpoint", "none.ckpt", "--out", str(tmp_path / "file" / "grid.png")]) == 2
    assert "cannot be written" in capsys.readouterr().err


@pytest.mark.parametrize("given, name", [("CPU", "cpu"), ("cpu", "cpu"), ("GPU", "gpu"), ("cuda", "gpu"),
                                         ("CUDA", "gpu"), ("Ascend", "ascend")])
def test_every_command_takes_one_device_vocabulary(given, name):
    parsers = [build_parser("python -m ms_gan", (), "CPU"), build_parser("python -m torch_gan", (), "cpu")]
    for parser in parsers:
        for command in (["train"], ["generate", "--checkpoint", "x"], ["evaluate", "--checkpoint", "x", "--data", "d"]):
            assert parser.parse_args([*command, "--device", given]).device == name
    for command in (["check", "dcgan"], ["trajectory", "dcgan"], ["bench"], ["fid", "a", "b"]):
        assert parity.__main__.build_parser().parse_args([*command, "--device", given]).device == name


def test_an_unknown_device_is_one_line_naming_the_vocabulary(capsys):
    for main, argv in ((MS_MAIN, ["train"]), (TORCH_MAIN, ["train"]), (parity.__main__.main, ["fid", "a", "b"])):
        with pytest.raises(SystemExit) as exit:
            main([*argv, "--device", "xpu"])
        err = capsys.readouterr().err.splitlines()[-1]
        assert exit.value.code == 2 and err.endswith(f"argument --device: must be {devices.ALLOWED}, not xpu")


@pytest.mark.slow     # four commands in processes of their own
def test_a_missing_gpu_is_one_line_without_mindspore_warnings():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for argv in (["-m", "parity", "check", "dcgan", "--device", "GPU"],
                 ["-m", "parity", "fid", "a", "b", "--device", "cuda"],
                 ["-m", "ms_gan", "train", "--device", "gpu"], ["-m", "torch_gan", "train", "--device", "gpu"]):
        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True)
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (argv, done.stderr)
        assert lines[0].endswith("Use --device cpu.") and "ms_gan" not in done.stdout
