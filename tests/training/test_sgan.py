"""sgan as a classifier: the labelled plan, the class loss with hidden labels in both
frameworks, semi-supervised and supervised training runs, and `evaluate`, on real digits."""
import json
import shutil
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.losses
import torch_gan.losses
import torch_gan.models
from parity.__main__ import main as parity_main
from parity.common.datasets import (EMBEDDED_TEST_PER_CLASS, LabelledPlan, choose_labelled,
                                    embedded_digits_split, epoch_order, image_labels, labelled_images)
from parity.common.class_accuracy import predicted_classes
from parity.common.losses import HIDDEN
from helpers.images import digit_subset
from helpers.runs import FRAMEWORKS, load_checkpoint_arrays, metrics, pynative, trainer

pytestmark = pytest.mark.slow     # trains or runs commands in subprocesses

CLASSES, PER_CLASS, BATCH, LABELS = (0, 1, 2), 4, 4, 6     # 12 real digits, 6 labelled


@pytest.fixture(scope="module")
def digits(embedded_digit_folder, tmp_path_factory):
    """12 real MNIST digits of classes 0-2 (4 each), in MNIST's layout folder/<class>/."""
    return digit_subset(embedded_digit_folder, tmp_path_factory.mktemp("digits"), CLASSES, PER_CLASS)


# ---------------------------------------------------------------- which images, which labels

def test_labels_come_from_the_class_folders(digits):
    paths, labels = labelled_images(digits, 10)
    assert [p.parent.name for p in paths] == [str(label) for label in labels]
    assert np.bincount(labels).tolist() == [PER_CLASS] * len(CLASSES)


@pytest.mark.parametrize("layout, named", [("flat", "lies directly in it"), ("cats", "is in 'cats'"),
                                           ("12", "is in '12'")])
def test_an_image_outside_a_class_folder_is_named(tmp_path, digits, layout, named):
    image = next(digits.glob("0/*.png"))
    target = tmp_path if layout == "flat" else tmp_path / layout
    target.mkdir(exist_ok=True)
    shutil.copy(image, target / "x.png")
    with pytest.raises(ValueError, match="x.png") as error:
        image_labels([target / "x.png"], tmp_path, 10)
    assert named in str(error.value) and "0-9" in str(error.value)


def test_labelled_images_are_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 50)
    chosen = choose_labelled(labels, 100, seed=0)
    assert np.bincount(labels[chosen]).tolist() == [10] * 10 and len(set(chosen)) == 100
    assert np.array_equal(chosen, choose_labelled(labels, 100, seed=0))
    assert not np.array_equal(chosen, choose_labelled(labels, 100, seed=1))
    assert np.bincount(labels[choose_labelled(labels, 13, seed=0)]).tolist() == [2, 2, 2] + [1] * 7
    with pytest.raises(ValueError, match="--labels 20 needs 10 images of class 0; the folder has 5"):
        choose_labelled(np.array([0] * 5 + [1] * 50), 20, seed=0)
    with pytest.raises(ValueError, match="has 500 images"):
        choose_labelled(labels, 501, seed=0)


def test_every_label_seen_is_the_seed_plan():
    labels = np.arange(10) % 3
    plan = LabelledPlan(labels, batch_size=4, seed=5)
    indices, shown = plan.epoch(2)
    assert np.array_equal(indices, epoch_order(10, 5, 2)) and np.array_equal(shown, labels[indices])
    assert plan.steps_per_epoch == 3 and plan.step_size == 4


def test_semi_supervised_steps_hide_the_unlabelled_and_cycle_the_labelled():
    labels = np.arange(40) % 4
    labelled = choose_labelled(labels, 6, seed=0)
    plan = LabelledPlan(labels, batch_size=4, seed=0, labelled=labelled)
    assert plan.steps_per_epoch == 10 and plan.step_size == 8
    known = []
    for epoch in range(3):
        indices, shown = (a.reshape(10, 8) for a in plan.epoch(epoch))
        assert np.array_equal(indices[:, :4].reshape(-1), epoch_order(40, 0, epoch))   # every image once
        assert (shown[:, :4] == HIDDEN).all()
        assert np.isin(indices[:, 4:], labelled).all() and np.array_equal(shown[:, 4:], labels[indices[:, 4:]])
        known.extend(indices[:, 4:].reshape(-1))
    # the labelled stream runs on across epochs: each run of 6 is one pass, a new order each time
    passes = np.array(known[:len(known) // 6 * 6]).reshape(-1, 6)
    assert all(sorted(p) == sorted(labelled) for p in passes)
    assert len({tuple(p) for p in passes}) > 1
    supervised = LabelledPlan(labels, batch_size=4, seed=0, labelled=labelled, supervised=True)
    assert supervised.step_size == 4
    for epoch in range(3):
        indices, shown = plan.epoch(epoch)
        alone, alone_shown = supervised.epoch(epoch)
        assert np.array_equal(alone, indices.reshape(10, 8)[:, 4:].reshape(-1))    # the same labelled batches
        assert np.array_equal(alone_shown, labels[alone])


def test_the_embedded_split_holds_out_a_hundred_of_each_class(tmp_path):
    folder = embedded_digits_split(tmp_path)
    train, test = (labelled_images(folder / part, 10) for part in ("train", "test"))
    assert np.bincount(test[1]).tolist() == [EMBEDDED_TEST_PER_CLASS] * 10
    assert len(train[0]) == 4000
    assert not {p.name for p in train[0]} & {p.name for p in test[0]}   # names are the digits' indices
    assert embedded_digits_split(tmp_path) == folder                    # written once


# ---------------------------------------------------------------- the class loss

def _class_loss_reference(logits, labels):
    logits = logits.astype(np.float64)
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    seen = labels != HIDDEN
    return -log_probs[seen, labels[seen]].mean() if seen.any() else 0.0


@pytest.mark.parametrize("labels", [[0, 3, 10, 2, 7, 1], [HIDDEN, 3, HIDDEN, 2, HIDDEN, HIDDEN], [HIDDEN] * 6])
def test_the_class_loss_skips_hidden_labels_in_both_frameworks(labels):
    logits = np.random.default_rng(0).normal(0, 3, (6, 11)).astype(np.float32)
    labels = np.array(labels)
    expected = _class_loss_reference(logits, labels)
    got_ms = ms_gan.losses.cross_entropy(ms.Tensor(logits), ms.Tensor(labels.astype(np.int32))).asnumpy()
    got_torch = torch_gan.losses.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).numpy()
    assert got_ms == pytest.approx(expected, abs=2e-6) and got_torch == pytest.approx(expected, abs=2e-6)
    seen = labels != HIDDEN
    if seen.any():    # PyTorch's own cross-entropy with ignore_index agrees
        assert got_torch == pytest.approx(torch.nn.functional.cross_entropy(
            torch.from_numpy(logits), torch.from_numpy(labels), ignore_index=HIDDEN).item(), abs=2e-6)


# ---------------------------------------------------------------- training and evaluate

def _train(framework, digits, out, *extra):
    return trainer(BATCH, "--model", "sgan")(framework, digits, out, "--epochs", "1", "--labels", str(LABELS),
                                             *pynative(framework), *extra)


@pytest.fixture(scope="module")
def runs(digits, tmp_path_factory):
    """root/<framework>_<kind>: one epoch of sgan with 6 of 12 labels, and D alone on them;
    dropout off, so that the two frameworks' runs can be compared."""
    root = tmp_path_factory.mktemp("sgan")
    for framework in FRAMEWORKS:
        assert _train(framework, digits, root / f"{framework}_sgan", "--no-dropout") == 0
        assert _train(framework, digits, root / f"{framework}_supervised", "--supervised", "--no-dropout") == 0
    return root


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_semi_supervised_run(runs, framework):
    out = runs / f"{framework}_sgan"
    records = metrics(out)
    assert [r["step"] for r in records] == [1, 2, 3]            # 12 images // batch 4
    assert all(np.isfinite(r["loss_d"]) and np.isfinite(r["loss_g"]) for r in records)
    assert (out / "samples" / "epoch_001.png").is_file() and (out / "progress.gif").is_file()
    checkpoint = out / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    assert checkpoint.is_file()


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_supervised_run_trains_d_alone(runs, framework):
    out = runs / f"{framework}_supervised"
    records = metrics(out)
    assert [sorted(r) for r in records] == [["epoch", "iteration", "loss_class", "step"]] * 3
    assert records[0]["loss_class"] == pytest.approx(np.log(11), abs=0.05)   # untrained: ~uniform over 11
    assert not (out / "samples").exists() and (out / "losses.png").is_file()


@pytest.mark.parametrize("kind", ["sgan", "supervised"])
def test_first_steps_agree_across_frameworks(runs, kind):
    ms_records, torch_records = (metrics(runs / f"{f}_{kind}") for f in sorted(FRAMEWORKS))
    for key in [k for k in ms_records[0] if k.startswith("loss")]:
        for step in range(2):
            rel = abs(ms_records[step][key] - torch_records[step][key]) / abs(torch_records[step][key])
            assert rel <= 1e-4, (key, step, ms_records[step][key], torch_records[step][key])


def test_the_run_remembers_its_labels(runs):
    import torch as torch_
    config = torch_.load(runs / "torch_gan_sgan" / "checkpoints" / "epoch_001.pt", weights_only=True)["config"]
    assert config["labels"] == LABELS and config["supervised"] is False


@pytest.mark.parametrize("evaluator", sorted(FRAMEWORKS))
def test_evaluate_prints_the_class_accuracy_of_either_frameworks_checkpoint(runs, digits, evaluator, tmp_path,
                                                                          capsys):
    """The accuracy `evaluate` reports is that of D's class head, computed here directly."""
    checkpoint = runs / "torch_gan_sgan" / "checkpoints" / "epoch_001.pt"
    _, discriminator = torch_gan.models.build("sgan")
    discriminator.load_state_dict(torch.load(checkpoint, weights_only=True)["discriminator"])
    discriminator.eval()
    paths, labels = labelled_images(digits, 10)
    from parity.common.datasets import load_image
    with torch.no_grad():
        logits = discriminator(torch.from_numpy(np.stack([load_image(p, 32, 1) for p in paths])))[1].numpy()
    expected = float(np.mean(predicted_classes(logits, 10) == labels))

    main, _ = FRAMEWORKS[evaluator]
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(digits), "--workers", "1",
                 "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["images"] == 12 and result["accuracy"] == pytest.approx(expected)
    assert f"accuracy {expected:.4f} ({round(expected * 12)} of 12 images" in capsys.readouterr().out


def test_predictions_never_name_the_generated_class():
    logits = np.array([[0.0, 1.0, 9.0], [2.0, 1.0, 0.0]])      # 2 real classes; the last is "generated"
    assert predicted_classes(logits, 2).tolist() == [1, 0]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_bad_requests_are_named(framework, digits, tmp_path, capsys):
    main, _ = FRAMEWORKS[framework]
    assert main(["train", "--model", "gan", "--labels", "5", "--out", str(tmp_path / "a")]) == 2
    assert "--labels and --supervised are for models with a class head; gan has none" in capsys.readouterr().err
    assert _train(framework, digits, tmp_path / "b", "--labels", "13") == 2
    assert "--labels 13: the folder has 12 images" in capsys.readouterr().err
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(next(digits.glob("1/*.png")), flat / "one.png")
    assert main(["train", "--model", "sgan", "--data", str(flat), "--out", str(tmp_path / "c")]) == 2
    assert "one.png" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abc")


def test_the_study_runs_both_frameworks_and_writes_its_table(digits, tmp_path, capfd):
    study = ["sgan-study", "--train", str(digits), "--test", str(digits), "--labels", "3",
             "--batch-size", "6", "--out", str(tmp_path / "study")]
    assert parity_main([*study, "--epochs", "1", "--markdown", str(tmp_path / "t.md")]) == 0
    rows = json.loads((tmp_path / "study" / "study.json").read_text())
    assert sorted((r["framework"], r["kind"]) for r in rows) == [
        ("ms_gan", "sgan"), ("ms_gan", "supervised"), ("torch_gan", "sgan"), ("torch_gan", "supervised")]
    assert all(r["images"] == 12 and 0 <= r["accuracy"] <= 1 for r in rows)
    table = (tmp_path / "t.md").read_text()
    assert "| 3 | MindSpore |" in table and "| 3 | PyTorch |" in table
    ms = {r["kind"]: r["accuracy"] for r in rows if r["framework"] == "ms_gan"}
    assert (f"| 3 | MindSpore | {ms['sgan']:.1%} | {ms['supervised']:.1%} | "
            f"{100 * (ms['sgan'] - ms['supervised']):+.1f} points |") in table

    # A longer study continues the runs and evaluates their last epoch, not the old result.
    assert parity_main([*study, "--epochs", "2"]) == 0
    rows = json.loads((tmp_path / "study" / "study.json").read_text())
    assert len(rows) == 4 and all(Path(r["checkpoint"]).name.startswith("epoch_002") for r in rows)
    # Other settings in the same folder: the trainer refuses, no stale result is reported.
    capfd.readouterr()
    assert parity_main([*study[:-4], "--batch-size", "4", *study[-2:], "--epochs", "2"]) == 2
    err = capfd.readouterr().err
    assert "--batch-size 6 -> 4" in err and "ms_gan train failed" in err


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_resumed_semi_supervised_run_sees_what_an_uninterrupted_one_does(digits, tmp_path, framework, capsys):
    """The labelled stream runs on across epochs and resumes where it was: 1 epoch then
    --resume to 2 ends with the weights of 2 straight epochs (dropout off: PyTorch's and
    MindSpore's dropout RNGs are not part of a checkpoint)."""
    assert _train(framework, digits, tmp_path / "straight", "--epochs", "2", "--no-dropout") == 0
    assert _train(framework, digits, tmp_path / "resumed", "--epochs", "1", "--no-dropout") == 0
    assert _train(framework, digits, tmp_path / "resumed", "--epochs", "2", "--resume", "--no-dropout") == 0
    assert _train(framework, digits, tmp_path / "resumed", "--epochs", "3", "--resume", "--labels", "3",
                  "--no-dropout") == 2
    assert "--labels 6 -> 3" in capsys.readouterr().err
    name = f"checkpoints/epoch_002{FRAMEWORKS[framework][1]}"
    straight, resumed = load_checkpoint_arrays(framework, tmp_path / "straight" / name), load_checkpoint_arrays(framework, tmp_path / "resumed" / name)
    assert sorted(straight) == sorted(resumed)
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)
