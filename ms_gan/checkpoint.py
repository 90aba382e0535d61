"""MindSpore checkpoints in the project's layout (parity/common/checkpoints.py).

Twin: torch_gan/checkpoint.py. A PyTorch file is read through parity.convert, imported
only then (it imports torch).
"""
from functools import lru_cache
from pathlib import Path

import mindspore as ms
import numpy as np

import ms_gan.models
from ms_gan.init import load_arrays
from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, EXP_AVG, EXP_AVG_SQ, GENERATOR, OPTIMIZER,
                                       STATE_STEP, TORCH_SUFFIXES, checkpoint_model)
from parity.common.files import atomic_path
from parity.common.training import config_from_json, config_to_json


def _parts(step):
    """(prefix, network, its optimizer) of a TrainStep."""
    return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))


def _trainable_names(net):
    # Names relative to the network (main.0.weight), not param.name: TrainStep renames those.
    return [name for name, param in net.parameters_and_names() if param.requires_grad]


def save_training_checkpoint(path, step, epoch, config):
    """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
    entries = []
    for prefix, net, optimizer in _parts(step):
        entries += [{"name": f"{prefix}.{name}", "data": ms.Tensor(param.asnumpy())}
                    for name, param in net.parameters_and_names()]
        for kind, moments in ((EXP_AVG, optimizer.exp_avg), (EXP_AVG_SQ, optimizer.exp_avg_sq)):
            entries += [{"name": f"{OPTIMIZER[prefix]}.{kind}.{name}", "data": ms.Tensor(m.asnumpy())}
                        for name, m in zip(_trainable_names(net), moments)]
        entries.append({"name": f"{OPTIMIZER[prefix]}.{STATE_STEP}",
                        "data": ms.Tensor(optimizer.state_step.asnumpy().reshape(()))})
    entries.append({"name": EPOCH, "data": ms.Tensor(epoch, ms.int32)})
    with atomic_path(path) as tmp:
        ms.save_checkpoint(entries, str(tmp), append_dict={CONFIG: config_to_json(config)})


def read_checkpoint(path, model=None):
    """{name: Parameter or str} of a MindSpore file, or of a PyTorch one converted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in TORCH_SUFFIXES:
        from parity.convert import load_foreign_checkpoint
        return load_foreign_checkpoint(path, "mindspore", model)
    return load_ms_file(path)


def load_ms_file(path):
    """mindspore.load_checkpoint of `path`; a file it cannot read is a one-line ValueError naming it."""
    try:
        return ms.load_checkpoint(str(path))
    except Exception:     # MindSpore raises ValueError or RuntimeError, several lines long
        raise ValueError(f"{path} is not a MindSpore checkpoint (truncated or corrupt?)") from None


def _arrays(raw, prefix, names, path):
    """{name: numpy array} of `prefix + name` for every one of `names`."""
    missing = [prefix + n for n in names if prefix + n not in raw]
    if missing:
        raise KeyError(f"{path} lacks {len(missing)} entries, e.g. {', '.join(missing[:3])}")
    return {n: raw[prefix + n].asnumpy() for n in names}


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    raw = read_checkpoint(path)
    for prefix, net, optimizer in _parts(step):
        load_arrays(net, _arrays(raw, prefix + ".", [n for n, _ in net.parameters_and_names()], path))
        names = _trainable_names(net)
        for kind, moments in ((EXP_AVG, optimizer.exp_avg), (EXP_AVG_SQ, optimizer.exp_avg_sq)):
            for name, value in _arrays(raw, f"{OPTIMIZER[prefix]}.{kind}.", names, path).items():
                moments[names.index(name)].set_data(ms.Tensor(value))
        count = _arrays(raw, f"{OPTIMIZER[prefix]}.", [STATE_STEP], path)[STATE_STEP]
        optimizer.state_step.set_data(ms.Tensor(count.reshape(optimizer.state_step.shape).astype(np.float32)))
    return int(raw[EPOCH].asnumpy()), config_from_json(raw[CONFIG])


@lru_cache(maxsize=None)
def _network_shapes(model, part):
    """{name: shape} of `part` (GENERATOR or DISCRIMINATOR) of `model`, as MindSpore saves it."""
    net = ms_gan.models.build(model)[part == DISCRIMINATOR]
    return {name: tuple(param.shape) for name, param in net.parameters_and_names()}


def load_network(path, part=GENERATOR, model=None):
    """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
    training checkpoint, or a weights-only one of that network, of either framework; the
    model comes from the file (parity.common.checkpoints.checkpoint_model), `model` must agree."""
    raw = read_checkpoint(path, model)
    training = any(k.startswith(part + ".") for k in raw)
    prefix = part + "." if training else ""
    entries = {k[len(prefix):]: tuple(v.shape) for k, v in raw.items()
               if k.startswith(prefix) and not isinstance(v, str)}
    config = config_from_json(raw[CONFIG]) if CONFIG in raw else None
    model = checkpoint_model(path, entries, config, part, _network_shapes, model)
    net = ms_gan.models.build(model)[part == DISCRIMINATOR]
    load_arrays(net, _arrays(raw, prefix, [n for n, _ in net.parameters_and_names()], path))
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint."""
    return config_from_json(read_checkpoint(path)[CONFIG])
