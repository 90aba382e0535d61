"""PyTorch checkpoints in the project's layout (parity/common/checkpoints.py).

Twin: ms_gan/checkpoint.py. A MindSpore file is read through parity.convert, imported
only then (it imports mindspore).
"""
import pickle
import warnings
from functools import lru_cache
from pathlib import Path

import torch

from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, GENERATOR, MINDSPORE_SUFFIXES, OPTIMIZER,
                                       checkpoint_model)
from parity.common.files import atomic_path
import torch_gan.models


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


def load_torch_file(path):
    """torch.load of `path`, only ever with weights_only=True; a file it cannot read is a
    one-line ValueError naming it: a pickle that carries code (weights_only refuses any
    global: a class or function to call), or a file that is not a PyTorch checkpoint."""
    try:
        with warnings.catch_warnings():     # junk read as a pickle warns of its "protocol"
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        detail = next((line for line in str(error).splitlines() if "global" in line.lower()), None)
        if detail:
            raise ValueError(f"{path}: refused: the pickle carries code or objects other than tensors "
                             f"({detail.strip()}); it is only ever loaded with torch.load(weights_only=True). "
                             f"Save a state_dict instead.") from None
        raise ValueError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None
    except Exception:
        raise ValueError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None


def read_checkpoint(path, model=None):
    """What torch.load gives for a PyTorch file, or a MindSpore one converted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in MINDSPORE_SUFFIXES:
        from parity.convert import load_foreign_checkpoint
        return load_foreign_checkpoint(path, "torch", model)
    return load_torch_file(path)


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    state = read_checkpoint(path)
    for key, net, optimizer in _parts(step):
        net.load_state_dict(state[key])
        optimizer.load_state_dict(state[OPTIMIZER[key]])
    return int(state[EPOCH]), state[CONFIG]


@lru_cache(maxsize=None)
def _network_shapes(model, part):
    """{name: shape} of `part` (GENERATOR or DISCRIMINATOR) of `model`: its state_dict's."""
    net = torch_gan.models.build(model)[part == DISCRIMINATOR]
    return {name: tuple(tensor.shape) for name, tensor in net.state_dict().items()}


def load_network(path, part=GENERATOR, model=None):
    """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
    training checkpoint, or a weights-only one of that network, of either framework; the
    model comes from the file (parity.common.checkpoints.checkpoint_model), `model` must agree."""
    state = read_checkpoint(path, model)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a PyTorch checkpoint of this project (it holds a {type(state).__name__})")
    weights = state[part] if isinstance(state.get(part), dict) else state
    entries = {k: tuple(v.shape) for k, v in weights.items() if isinstance(v, torch.Tensor)}
    model = checkpoint_model(path, entries, state.get(CONFIG), part, _network_shapes, model)
    net = torch_gan.models.build(model)[part == DISCRIMINATOR]
    net.load_state_dict(weights)
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint."""
    return read_checkpoint(path)[CONFIG]
