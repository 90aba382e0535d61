"""Dropout drawn from the run's seed (parity/common/streams.py's dropout_masks): a run of a
model with dropout repeats, and resumes, bit for bit in each framework; and the twins take
the same step with dropout on (docs/framework_differences.md#dropout)."""
import numpy as np
import pytest

from helpers.runs import FRAMEWORKS, load_checkpoint_arrays as load, metrics, trainer
from parity.common import datasets, run_folder, streams

LAYERS = [(0.25, 16), (0.5, 32)]


def test_masks_repeat_and_differ_by_step_call_and_layer():
    masks = streams.dropout_masks(3, 1, 2, 64, LAYERS, calls=3)
    assert [m.shape for m in masks] == [(64, 16, 1, 1), (64, 32, 1, 1)] * 3
    assert all(m.dtype == np.float32 for m in masks)
    for a, b in zip(masks, streams.dropout_masks(3, 1, 2, 64, LAYERS, calls=3)):
        np.testing.assert_array_equal(a, b)
    other_step = streams.dropout_masks(3, 1, 3, 64, LAYERS, calls=3)
    assert not np.array_equal(masks[0], other_step[0])
    assert not np.array_equal(masks[0], masks[2][:, :16])          # call 0 and call 1, layer 0
    # as nn.Dropout2d: each channel dropped with probability p, the rest scaled by 1 / (1 - p)
    assert set(np.unique(masks[0])) == {np.float32(0), np.float32(1) / np.float32(0.75)}
    assert set(np.unique(masks[1])) == {np.float32(0), np.float32(2)}
    assert 0.2 < np.mean(masks[0] == 0) < 0.3 and 0.45 < np.mean(masks[1] == 0) < 0.55


def test_the_dropout_stream_is_its_own():
    assert streams.DROPOUT_STREAM not in (streams.SAMPLE_STREAM, streams.FID_STREAM, streams.LABELLED_STREAM)


# Each compiles MindSpore's step (ms.jit): the fast lane one model's, the full suite all three.
@pytest.mark.parametrize("model", ["cnn_gan", pytest.param("dcgan_mnist", marks=pytest.mark.slow),
                                   pytest.param("sgan", marks=pytest.mark.slow)])
def test_twins_take_the_same_steps_with_dropout_on(model):
    """The same masks in both frameworks: the twins' first step agrees as closely as with
    dropout off (test_train's first-step tolerance), and other masks give another step, so
    the masks are used. Later steps part as rounding compounds through Adam's first update
    (lr * g / |g| flips where g is at rounding level), with dropout on or off alike
    (docs/trajectories.md)."""
    import ms_gan.models
    import torch_gan.models
    from ms_gan.train import TrainStep as MsStep
    from parity.common.configs import get_config
    from torch_gan.train import TrainStep as TorchStep
    config = get_config(model)
    ms_step = MsStep(*ms_gan.models.build(model, seed=5), loss=config.loss)
    torch_step = TorchStep(*torch_gan.models.build(model, seed=5), loss=config.loss)
    assert ms_step.dropout_shapes == torch_step.dropout_shapes and ms_step.dropout_shapes
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (4, *config.image_shape)).astype(np.float32)
    z = streams.step_noise(0, 0, 0, 4, config.noise_shape)
    labels = rng.integers(0, 10, 4) if config.num_classes else None
    masks = streams.dropout_masks(0, 0, 0, 4, ms_step.dropout_shapes, ms_step.dropout_calls)
    ms_stats, torch_stats = ms_step(real, z, labels, masks), torch_step(real, z, labels, masks)
    for key in run_folder.STATS:
        assert ms_stats[key] == pytest.approx(torch_stats[key], abs=2e-5, rel=1e-4), key
    other = streams.dropout_masks(1, 0, 0, 4, ms_step.dropout_shapes, ms_step.dropout_calls)
    fresh = TorchStep(*torch_gan.models.build(model, seed=5), loss=config.loss)(real, z, labels, other)
    assert max(abs(fresh[key] - torch_stats[key]) for key in run_folder.STATS) > 1e-4   # 5x the tolerance


@pytest.fixture(scope="module")
def digits(noise_folders):
    """5 grey pictures: at batch 3, a full step and a short one an epoch."""
    return noise_folders(5, (28, 28))


_train = trainer(3)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cnn_gan", "dcgan_mnist"])
@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_runs_with_dropout_repeat_and_resume_bit_for_bit(framework, model, digits, tmp_path):
    """Dropout on (the default): two straight 2-epoch runs, and a run resumed after epoch 1,
    end with the same weights and Adam states and log the same losses, bit for bit."""
    args = ("--model", model)
    for name in ("straight", "again"):
        assert _train(framework, digits, tmp_path / name, *args, "--epochs", "2") == 0
    assert _train(framework, digits, tmp_path / "resumed", *args, "--epochs", "1") == 0
    assert _train(framework, digits, tmp_path / "resumed", "--epochs", "2", "--resume") == 0
    name = f"epoch_002{FRAMEWORKS[framework][1]}"
    straight = load(framework, tmp_path / "straight" / "checkpoints" / name)
    for other in ("again", "resumed"):
        arrays = load(framework, tmp_path / other / "checkpoints" / name)
        assert sorted(arrays) == sorted(straight)
        for key in straight:
            np.testing.assert_array_equal(arrays[key], straight[key], err_msg=f"{other}: {key}")
        assert metrics(tmp_path / other) == metrics(tmp_path / "straight"), other
