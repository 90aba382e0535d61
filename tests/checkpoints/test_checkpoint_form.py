"""The framework-free checkpoint form (parity/common/checkpoints.py): every model's
training checkpoint, of each framework, read into it and written back bit for bit; both
frameworks' models expect the same names; and the import rule that lets each twin stay
on its own framework."""
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.checkpoint
import ms_gan.models
import torch_gan.checkpoint
import torch_gan.models
from helpers.arrays import assert_bit_equal, seeded_gradients
from ms_gan.train import TrainStep as MsStep
from parity.common.checkpoints import DISCRIMINATOR, GENERATOR
from parity.common.configs import MODELS, get_config
from torch_gan.train import TrainStep as TorchStep

ROOT = Path(__file__).resolve().parents[2]
ADAM_STEPS = 2


def _ms_training(path, model):
    """A MindSpore trainer's checkpoint of `model` after ADAM_STEPS Adam steps on seeded
    gradients; the step, for its values."""
    step = MsStep(*ms_gan.models.build(model, seed=1), mode="pynative", loss=get_config(model).loss)
    for optimizer, net in ((step.optimizer_g, step.generator), (step.optimizer_d, step.discriminator)):
        for seed in range(ADAM_STEPS):
            grads = seeded_gradients([p.shape for p in net.trainable_params()], seed)
            optimizer(tuple(ms.Tensor(g) for g in grads))
    ms_gan.checkpoint.FORMAT.save_training_checkpoint(path, step, 3, {"model": model, "lr": 2e-4, "beta1": 0.5})
    return step


def _torch_training(path, model):
    step = TorchStep(*torch_gan.models.build(model, seed=1), loss=get_config(model).loss)
    for optimizer, net in ((step.optimizer_g, step.generator), (step.optimizer_d, step.discriminator)):
        for seed in range(ADAM_STEPS):
            for p, g in zip(net.parameters(), seeded_gradients([p.shape for p in net.parameters()], seed)):
                p.grad = torch.from_numpy(g)
            optimizer.step()
    torch_gan.checkpoint.FORMAT.save_training_checkpoint(path, step, 3, {"model": model, "lr": 2e-4, "beta1": 0.5})
    return step


def _ms_entries(path):
    return {k: v if isinstance(v, str) else v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items()}


def _torch_entries(value, prefix=""):
    """{"optimizer_g/state/0/exp_avg": numpy array, ...}: every leaf of a torch.load'ed object."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _torch_entries(item, f"{prefix}{key}/").items()}
    return {prefix.rstrip("/"): value.numpy() if isinstance(value, torch.Tensor) else value}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_mindspore_training_checkpoint_round_trips_through_the_form(model, tmp_path):
    step = _ms_training(tmp_path / "a.ckpt", model)
    ck = ms_gan.checkpoint.FORMAT.read(tmp_path / "a.ckpt")
    assert (ck.model, ck.epoch, ck.config["model"]) == (model, 3, model)
    assert [state.step for state in ck.optimizers.values()] == [float(ADAM_STEPS)] * 2
    first = ms_gan.checkpoint.FORMAT.expected(model)[DISCRIMINATOR].trainable[0]
    np.testing.assert_array_equal(ck.optimizers[DISCRIMINATOR].exp_avg_sq[first],
                                  step.optimizer_d.exp_avg_sq[0].asnumpy())
    ms_gan.checkpoint.FORMAT.write(ck, tmp_path / "b.ckpt")
    assert_bit_equal(_ms_entries(tmp_path / "a.ckpt"), _ms_entries(tmp_path / "b.ckpt"))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_torch_training_checkpoint_round_trips_through_the_form(model, tmp_path):
    step = _torch_training(tmp_path / "a.pt", model)
    ck = torch_gan.checkpoint.FORMAT.read(tmp_path / "a.pt")
    assert (ck.model, ck.epoch, ck.config["model"]) == (model, 3, model)
    assert [state.step for state in ck.optimizers.values()] == [float(ADAM_STEPS)] * 2
    first_param = next(step.discriminator.parameters())
    first = torch_gan.checkpoint.FORMAT.expected(model)[DISCRIMINATOR].trainable[0]
    np.testing.assert_array_equal(ck.optimizers[DISCRIMINATOR].exp_avg_sq[first],
                                  step.optimizer_d.state[first_param]["exp_avg_sq"].numpy())
    torch_gan.checkpoint.FORMAT.write(ck, tmp_path / "b.pt")
    a, b = (_torch_entries(torch.load(tmp_path / name, weights_only=True)) for name in ("a.pt", "b.pt"))
    assert_bit_equal(a, b)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_both_frameworks_expect_the_same_names_shapes_and_adam_order(model):
    ms_expected, torch_expected = ms_gan.checkpoint.FORMAT.expected(model), torch_gan.checkpoint.FORMAT.expected(model)
    for net in (GENERATOR, DISCRIMINATOR):
        assert ms_expected[net] == torch_expected[net], net


@pytest.mark.slow
def test_a_twin_reads_the_other_frameworks_file_as_the_converter_does(tmp_path, capsys):
    """ms_gan never imports torch: a .pt is read without it and converted in memory as
    `parity convert` converts it, the same notes printed and the same error raised."""
    g, _ = torch_gan.models.build("dcgan", seed=2)
    torch.save(g.state_dict(), tmp_path / "g.pt")
    params = ms_gan.checkpoint.FORMAT.read_native(tmp_path / "g.pt")
    assert f"note: {tmp_path / 'g.pt'}: num_batches_tracked dropped" in capsys.readouterr().out
    np.testing.assert_array_equal(params["main.1.moving_variance"].asnumpy(), g.main[1].running_var.numpy())
    assert set(params) == set(ms_gan.checkpoint.FORMAT.expected("dcgan")[GENERATOR].shapes)

    state = g.state_dict()
    state["main.0.weight"] = state["main.0.weight"][:, :8]
    torch.save(state, tmp_path / "narrow.pt")
    from parity.convert import ConversionError, read_checkpoint
    with pytest.raises(ConversionError) as in_process:
        read_checkpoint(tmp_path / "narrow.pt")
    assert "shape mismatches (wrong architecture or config?): main.0.weight: file (100, 8, 4, 4)" in str(in_process.value)
    with pytest.raises(ValueError) as relayed:
        ms_gan.checkpoint.FORMAT.read_native(tmp_path / "narrow.pt")
    assert str(relayed.value) == str(in_process.value)
