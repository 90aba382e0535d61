"""`train --fid-every N --fid-n M` in both trainers (parity/common/epoch_fid.py) and
`python -m parity quality-study` (parity/quality_study.py), on a tiny folder of real digits."""
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from helpers.images import digit_subset
from helpers.runs import FRAMEWORKS, metrics, trainer
from parity.common import epoch_fid, fid
from parity.common.configs import MODELS
from parity.common.datasets import scan_images

DIGITS = 40         # 4 of each class
FID_N = 32
BATCH = 8


@pytest.fixture(scope="module")
def digits(embedded_digit_folder, tmp_path_factory):
    """40 real digits, 4 of each class, in the embedded digits' layout."""
    folder = digit_subset(embedded_digit_folder, tmp_path_factory.mktemp("digits"), range(10), DIGITS // 10)
    assert len(scan_images(folder)) == DIGITS
    return folder


train = trainer(BATCH, "--model", "gan")


def fid_records(out):
    return [r for r in metrics(out) if "fid" in r]


def test_the_score_follows_the_models_channels():
    assert {name: epoch_fid.fid_kind(name) for name in MODELS} == {
        name: fid.DIGIT if config.image_shape[0] == 1 else fid.INCEPTION for name, config in MODELS.items()}
    assert epoch_fid.fid_kind("dcgan") == fid.INCEPTION and epoch_fid.fid_kind("cnn_gan") == fid.DIGIT


@pytest.mark.parametrize("flags, message", [
    (["--fid-every", "0"], "error: argument --fid-every: must be an integer >= 1, not 0"),
    (["--fid-every", "1", "--fid-n", "1"], "error: argument --fid-n: must be an integer >= 2, not 1"),
    (["--fid-every", "x"], "error: argument --fid-every: must be an integer >= 1, not x"),
])
def test_bad_flag_values_exit_2_at_parse(digits, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_:
        train("torch_gan", digits, tmp_path / "run", *flags)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags, message", [
    (["--fid-every", "1", "--fid-n", "41"],
     "error: --fid-n 41 is more than the 40 images of DIGITS: give --fid-n 40 or less"),
    (["--fid-n", "20"], "error: --fid-n is the number of images --fid-every scores; give --fid-every too"),
])
@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_settings_it_cannot_score_are_one_line_before_training(digits, tmp_path, capsys, framework, flags, message):
    assert train(framework, digits, tmp_path / "run", "--epochs", "1", *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [message.replace("DIGITS", str(digits))]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def scored(digits, tmp_path_factory):
    """{framework: folder} of gan runs with --fid-every 1: run/ trained 1 epoch, then
    --resume to 2; after_one/ is run/ after its first epoch."""
    flags = ["--fid-every", "1", "--fid-n", str(FID_N), "--seed", "3"]
    roots = {}
    for framework in sorted(FRAMEWORKS):
        root = roots[framework] = tmp_path_factory.mktemp(framework)
        assert train(framework, digits, root / "run", "--epochs", "1", *flags) == 0
        shutil.copytree(root / "run", root / "after_one")
        assert train(framework, digits, root / "run", "--epochs", "2", "--resume", *flags) == 0
    return roots


@pytest.mark.slow
@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_every_epoch_is_scored_and_resume_keeps_the_earlier_score(scored, framework):
    root = scored[framework]
    first, records = fid_records(root / "after_one"), fid_records(root / "run")
    assert [r["epoch"] for r in records] == [1, 2] and records[0] == first[0]
    for r in records:
        assert set(r) == {"epoch", "fid", "fid_kind", "fid_n", "confident", "class_entropy", "fid_seconds"}
        assert r["fid_kind"] == fid.DIGIT and r["fid_n"] == FID_N
        assert math.isfinite(r["fid"]) and r["fid"] > 0 and r["fid_seconds"] > 0
        assert 0 <= r["confident"] <= 1 and 0 <= r["class_entropy"] <= np.log2(10) + 1e-9
    steps = [r for r in metrics(root / "run") if "step" in r]
    assert [(r["epoch"], r["step"]) for r in steps] == [(e, s) for e in (1, 2) for s in range(1, DIGITS // BATCH + 1)]
    for name in ("fid.png", "losses.png"):
        assert Image.open(root / "run" / name).format == "PNG"
    cache = list((root / "run" / "fid_stats").iterdir())
    assert len(cache) == 1 and cache[0].name.startswith(f"digit_n{FID_N}_")   # the real side's, once


@pytest.mark.slow
def test_the_frameworks_give_the_same_kind_of_score(scored):
    ms, torch = (fid_records(scored[f] / "run") for f in ("ms_gan", "torch_gan"))
    assert [set(r) for r in ms] == [set(r) for r in torch] and len(ms) == 2
    assert [r["fid_kind"] for r in ms + torch] == [fid.DIGIT] * 4
    assert all(math.isfinite(r["fid"]) for r in ms + torch)


@pytest.mark.slow
def test_the_quality_study_tables_every_run_and_a_rerun_trains_nothing(digits, tmp_path, capfd):
    from parity.__main__ import main
    argv = ["quality-study", "--model", "gan", "--seeds", "0", "--epochs", "1", "--data", str(digits),
            "--fid-n", str(FID_N), "--batch-size", str(BATCH), "--out", str(tmp_path / "study"),
            "--markdown", str(tmp_path / "study.md"), "--plot", str(tmp_path / "study.png")]
    assert main(argv) == 0
    table = (tmp_path / "study.md").read_text()
    assert table in capfd.readouterr().out
    score = {f: fid_records(tmp_path / "study" / f"{f}_gan_seed0")[0]["fid"] for f in FRAMEWORKS}
    ms, torch = score["ms_gan"], score["torch_gan"]
    assert (f"| 1 | {ms:.2f} ({ms:.2f}-{ms:.2f}) | {torch:.2f} ({torch:.2f}-{torch:.2f}) | {ms - torch:+.2f} "
            f"| no spread (1 seed) |") in table.splitlines()
    assert table.splitlines()[2] == ("| epoch | MindSpore | PyTorch | MindSpore - PyTorch "
                                     "| within the seeds' spread |")
    assert Image.open(tmp_path / "study.png").format == "PNG"
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "study").rglob("*") if p.is_file() and p.name != "study.json"}
    assert main(argv) == 2                      # its table and plot exist: kept without --force
    assert "exists; kept (give --force to replace it)" in capfd.readouterr().err
    assert main(argv + ["--force"]) == 0        # --force replaces the table and plot; the runs resume
    assert (tmp_path / "study.md").read_text().splitlines()[:5] == table.splitlines()[:5]
    assert {p: p.stat().st_mtime_ns for p in files} == files       # nothing trained, scored or written again
    assert "run already finished" in capfd.readouterr().out


def test_within_spread_is_the_difference_against_the_wider_range():
    from parity.quality_study import verdict
    assert verdict((10.0, 8.0, 12.0), (13.0, 12.0, 14.0), 3) == "yes (3.00 <= 4.00)"
    assert verdict((10.0, 9.0, 11.0), (15.0, 14.0, 16.0), 3) == "no (5.00 > 2.00)"
    assert verdict((10.0, 10.0, 10.0), (15.0, 15.0, 15.0), 1) == "no spread (1 seed)"


@pytest.mark.slow
def test_a_3_channel_model_is_scored_with_inception_in_a_subprocess(digits, tmp_path):
    out = tmp_path / "dcgan"
    assert FRAMEWORKS["torch_gan"][0](["train", "--model", "dcgan", "--data", str(digits), "--batch-size", "20",
                                       "--out", str(out), "--workers", "1", "--log-every", "0", "--epochs", "1",
                                       "--fid-every", "1", "--fid-n", "4"]) == 0
    [record] = fid_records(out)
    assert set(record) == {"epoch", "fid", "fid_kind", "fid_n", "fid_seconds"}
    assert record["fid_kind"] == fid.INCEPTION and record["fid_n"] == 4 and math.isfinite(record["fid"])
    assert [p.name.split("_")[:2] for p in (out / "fid_stats").iterdir()] == [["inception", "n4"]]
