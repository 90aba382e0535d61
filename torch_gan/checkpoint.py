"""PyTorch checkpoints in the project's layout (parity/common/checkpoints.py).

Twin: ms_gan/checkpoint.py. A MindSpore file is read through parity.convert, imported
only then (it imports mindspore).
"""
from pathlib import Path

import torch

from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, GENERATOR, MINDSPORE_SUFFIXES, OPTIMIZER)
from parity.common.files import atomic_path


def _parts(step):
    """(key, network, its optimizer) of a TrainStep."""
    return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))


def save_training_checkpoint(path, step, epoch, config):
    """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
    state = {EPOCH: epoch, CONFIG: config}
    for key, net, optimizer in _parts(step):
        state[key] = net.state_dict()
        state[OPTIMIZER[key]] = optimizer.state_dict()
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def read_checkpoint(path, model=None):
    """What torch.load gives for a PyTorch file, or a MindSpore one converted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in MINDSPORE_SUFFIXES:
        from parity.convert import load_foreign_checkpoint
        return load_foreign_checkpoint(path, "torch", model)
    return torch.load(path, map_location="cpu", weights_only=True)


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    state = read_checkpoint(path)
    for key, net, optimizer in _parts(step):
        net.load_state_dict(state[key])
        optimizer.load_state_dict(state[OPTIMIZER[key]])
    return int(state[EPOCH]), state[CONFIG]


def load_network(path, net, model="dcgan", part=GENERATOR):
    """Load G (`part` GENERATOR) or D (DISCRIMINATOR) from a training checkpoint, or from a
    weights-only one of that network, of either framework."""
    state = read_checkpoint(path, model)
    net.load_state_dict(state[part] if part in state else state)


def load_generator(path, generator, model="dcgan"):
    load_network(path, generator, model, GENERATOR)
