"""MindSpore checkpoint files, read into and written from the framework-free form
(parity/common/checkpoints.py). The layouts are read and written in one place for both
twins, parity/common/layouts.py; here MindSpore itself reads and writes its own files.

A PyTorch file is read without torch (parity/common/torch_files.py: the tensors, never any
code) and converted in memory, as `parity convert` would: this package never imports torch.
Twin: torch_gan/checkpoint.py.
"""
from functools import lru_cache
from pathlib import Path

import mindspore as ms
import numpy as np

import ms_gan.models
from ms_gan.init import load_arrays, state_arrays
from parity.common import layouts
from parity.common.checkpoints import (DISCRIMINATOR, GENERATOR, NETWORKS, TORCH_SUFFIXES, AdamState, Checkpoint,
                                       CheckpointError, Expected, network_model, require_training)
from parity.common.files import atomic_path


# ---------------------------------------------------------------- the models' names


def _expected_of(net):
    params = list(net.parameters_and_names())   # names relative to `net`: TrainStep renames param.name
    return Expected({n: tuple(p.shape) for n, p in params}, tuple(n for n, p in params if p.requires_grad))


@lru_cache(maxsize=None)
def expected(model):
    """{GENERATOR / DISCRIMINATOR: Expected} of `model`, from building it."""
    return dict(zip(NETWORKS, map(_expected_of, ms_gan.models.build(model))))


# ---------------------------------------------------------------- files


def load_ms_file(path):
    """mindspore.load_checkpoint of `path`; a file it cannot read is a one-line CheckpointError naming it."""
    try:
        return ms.load_checkpoint(str(path))
    except Exception:     # MindSpore raises ValueError or RuntimeError, several lines long
        raise CheckpointError(f"{path} is not a MindSpore checkpoint (truncated or corrupt?)") from None


def _entries(path, model=None):
    """{name: numpy array or str} of a MindSpore file, or of a PyTorch one converted in memory."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in TORCH_SUFFIXES:
        return layouts.ms_entries(layouts.read_foreign(path, expected, model), expected)
    return {k: v if isinstance(v, str) else v.asnumpy() for k, v in load_ms_file(path).items()}


def read_checkpoint(path, model=None):
    """{name: Parameter or str} of a MindSpore file, or of a PyTorch one converted: what
    mindspore.load_checkpoint gives."""
    return {n: v if isinstance(v, str) else ms.Parameter(ms.Tensor(v), name=n) for n, v in _entries(path, model).items()}


def read_form(path, model=None):
    """The Checkpoint a MindSpore file (or a PyTorch one, converted) holds, every name and
    shape checked against `model`, or against every model when None (parity.common.
    checkpoints.match_model)."""
    return layouts.ms_read_form(path, _entries(path, model), expected, model)


def to_mindspore(ck, layout="project"):
    """{name: mindspore.Tensor, or str for config} in the project's MindSpore layout, or
    the MindSpore tutorial's names when layout is "tutorial"."""
    return {n: v if isinstance(v, str) else ms.Tensor(v) for n, v in layouts.ms_entries(ck, expected, layout).items()}


def write_form(ck, path, layout="project"):
    """Write a Checkpoint as a MindSpore file with mindspore.save_checkpoint, atomically
    (parity.common.files.atomic_path, which also gives it the mode open() would); returns
    the number of tensors written."""
    entries = to_mindspore(ck, layout)
    tensors = [{"name": n, "data": v} for n, v in entries.items() if not isinstance(v, str)]
    strings = {n: v for n, v in entries.items() if isinstance(v, str)}
    with atomic_path(path) as tmp:
        ms.save_checkpoint(tensors, str(tmp), append_dict=strings or None)
    return len(tensors)


# ---------------------------------------------------------------- the trainer, generate and evaluate


def _parts(step):
    """(network key, network, its optimizer) of a TrainStep."""
    return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))


def _adam_state(net, optimizer):
    """A mint.optim.Adam's state as AdamState."""
    names = _expected_of(net).trainable
    return AdamState({n: m.asnumpy() for n, m in zip(names, optimizer.exp_avg)},
                     {n: m.asnumpy() for n, m in zip(names, optimizer.exp_avg_sq)},
                     float(optimizer.state_step.asnumpy().reshape(-1)[0]))


def save_training_checkpoint(path, step, epoch, config):
    """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
    ck = Checkpoint({key: state_arrays(net) for key, net, _ in _parts(step)}, training=True,
                    optimizers={key: _adam_state(net, optimizer) for key, net, optimizer in _parts(step)},
                    epoch=epoch, config=config, model=config["model"])
    write_form(ck, path)


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    ck = require_training(path, read_form(path))
    for key, net, optimizer in _parts(step):
        load_arrays(net, ck.networks[key])
        state, names = ck.optimizers[key], _expected_of(net).trainable
        for moments, values in ((optimizer.exp_avg, state.exp_avg), (optimizer.exp_avg_sq, state.exp_avg_sq)):
            for moment, name in zip(moments, names):
                moment.set_data(ms.Tensor(values[name]))
        optimizer.state_step.set_data(ms.Tensor(np.full(optimizer.state_step.shape, state.step, np.float32)))
    return ck.epoch, ck.config


def load_network(path, part=GENERATOR, model=None):
    """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
    training checkpoint, or a weights-only one of that network, of either framework; the
    model comes from the file (parity.common.checkpoints.checkpoint_model), `model` must agree."""
    arrays, config = layouts.ms_network(path, _entries(path, model), part)
    model = network_model(path, part, arrays, config, expected, model)
    net = ms_gan.models.build(model)[part == DISCRIMINATOR]
    load_arrays(net, arrays)
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint, or None."""
    return layouts.ms_config(path, _entries(path))
