"""PyTorch checkpoint files, read into and written from the framework-free form
(parity/common/checkpoints.py). The layouts are read and written in one place for both
twins, parity/common/layouts.py (on numpy arrays); here torch itself reads and writes its
own files, only ever loading with weights_only=True.

A MindSpore file is read without mindspore (parity/common/mindspore_files.py) and converted
in memory, as `parity convert` would: this package never imports mindspore.
Twin: ms_gan/checkpoint.py.
"""
import pickle
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

import torch_gan.models
from parity.common import layouts
from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, GENERATOR, MINDSPORE_SUFFIXES, NETWORKS, Checkpoint,
                                       CheckpointError, Expected, network_model, require_training)
from parity.common.files import atomic_path
from parity.common.names import torch_to_ms_names
from torch_gan.init import load_arrays, state_arrays


# ---------------------------------------------------------------- the models' names


def _expected_of(module):
    state = module.state_dict()
    ms_name = torch_to_ms_names(state)
    return Expected({ms_name[n]: tuple(t.shape) for n, t in state.items() if ms_name[n] is not None},
                    tuple(ms_name[n] for n, _ in module.named_parameters()))


@lru_cache(maxsize=None)
def expected(model):
    """{GENERATOR / DISCRIMINATOR: Expected} of `model`, from building it; `shapes` are in
    the order of its state_dict."""
    return dict(zip(NETWORKS, map(_expected_of, torch_gan.models.build(model))))


# ---------------------------------------------------------------- files


def load_torch_file(path):
    """torch.load of `path`, only ever with weights_only=True; a file it cannot read is a
    one-line CheckpointError naming it: a pickle that carries code (weights_only refuses any
    global: a class or function to call), or a file that is not a PyTorch checkpoint."""
    try:
        with warnings.catch_warnings():     # junk read as a pickle warns of its "protocol"
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        detail = next((line for line in str(error).splitlines() if "global" in line.lower()), None)
        if detail:
            raise CheckpointError(f"{path}: refused: the pickle carries code or objects other than tensors "
                                  f"({detail.strip()}); it is only ever loaded with torch.load(weights_only=True). "
                                  f"Save a state_dict instead.") from None
        raise CheckpointError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None
    except Exception:
        raise CheckpointError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None


def to_arrays(obj):
    """A torch.load'ed object with numpy arrays for its tensors (copies)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return type(obj)((k, to_arrays(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_arrays(v) for v in obj)
    return obj


def to_tensors(obj):
    """The reverse of to_arrays: numpy arrays as torch tensors of their own memory."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.array(obj, copy=True))
    if isinstance(obj, dict):
        return type(obj)((k, to_tensors(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_tensors(v) for v in obj)
    return obj


def _raw(path, model=None):
    """What torch.load gives for a PyTorch file, or for a MindSpore one converted in memory,
    tensors as numpy arrays."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in MINDSPORE_SUFFIXES:
        return layouts.torch_tree(layouts.read_foreign(path, expected, model), expected)
    return to_arrays(load_torch_file(path))


def read_checkpoint(path, model=None):
    """What torch.load gives for a PyTorch file, or a MindSpore one converted."""
    return to_tensors(_raw(path, model))


def read_form(path, model=None):
    """The Checkpoint a PyTorch file (or a MindSpore one, converted) holds, every name and
    shape checked against `model`, or against every model when None (parity.common.
    checkpoints.match_model)."""
    return layouts.torch_read_form(path, _raw(path, model), expected, model)


def to_torch(ck):
    """What torch.load would return for this checkpoint in the project's PyTorch layout
    (the same names as pytorch/examples' dcgan)."""
    return to_tensors(layouts.torch_tree(ck, expected))


def write_form(ck, path, layout="project"):
    """Write a Checkpoint as a PyTorch file with torch.save, atomically (parity.common.
    files.atomic_path); returns the number of tensors written. pytorch/examples' `layout`
    "tutorial" has the project's names."""
    tree = layouts.torch_tree(ck, expected)
    with atomic_path(path) as tmp:
        torch.save(to_tensors(tree), tmp)
    return layouts.count_arrays(tree)


# ---------------------------------------------------------------- the trainer, generate and evaluate


def _parts(step):
    """(network key, network, its optimizer) of a TrainStep."""
    return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))


def save_training_checkpoint(path, step, epoch, config):
    """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
    ck = Checkpoint({key: state_arrays(net) for key, net, _ in _parts(step)}, training=True,
                    optimizers={key: layouts.torch_adam_state(path, key, to_arrays(optimizer.state_dict()),
                                                              _expected_of(net))
                                for key, net, optimizer in _parts(step)},
                    epoch=epoch, config=config, model=config["model"])
    write_form(ck, path)


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    ck = require_training(path, read_form(path))
    for key, net, optimizer in _parts(step):
        load_arrays(net, ck.networks[key])
        optimizer.load_state_dict(to_tensors(layouts.torch_adam_dict(_expected_of(net), ck.optimizers[key],
                                                                     ck.config)))
    return int(ck.epoch), ck.config


def load_network(path, part=GENERATOR, model=None):
    """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
    training checkpoint, or a weights-only one of that network, of either framework; the
    model comes from the file (parity.common.checkpoints.checkpoint_model), `model` must agree."""
    arrays, config = layouts.torch_network(path, _raw(path, model), part)
    model = network_model(path, part, arrays, config, expected, model)
    net = torch_gan.models.build(model)[part == DISCRIMINATOR]
    load_arrays(net, arrays)
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint, or None."""
    raw = _raw(path)
    return raw.get(CONFIG) if isinstance(raw, dict) else None
