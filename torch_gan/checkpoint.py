"""PyTorch checkpoint files, read into and written from the framework-free form
(parity/common/checkpoints.py): the one place their layouts are read and written.

Layouts read, and how they are told apart:
    a dict with "generator"/"discriminator"/"optimizer_*" entries: the project's training
        checkpoint, with torch.optim.Adam's state
    otherwise a state_dict: one network under the model's names (dcgan: `main.<i>.<name>`,
        the names of pytorch/examples' dcgan and the PyTorch faces tutorial, so their
        `netG`/`netD` files are this layout too), whichever of the model's generator and
        discriminator has the same names and shapes
Names are mapped to MindSpore's by parity/common/names.py. `num_batches_tracked` has no
MindSpore twin: it is dropped on reading and written as 0 (BatchNorm reads it only when
momentum is None, which no model sets).

A MindSpore file is converted by `python -m parity convert` in a subprocess
(parity.common.checkpoints.converted): this package never imports mindspore.
Twin: ms_gan/checkpoint.py.
"""
import pickle
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

import torch_gan.models
from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, GENERATOR, MINDSPORE_SUFFIXES, NETWORKS,
                                       OPTIMIZER, TORCH_SUFFIXES, AdamState, Checkpoint, CheckpointError, Expected,
                                       adam_hyper, converted, identify, match_model, network_model, require_training)
from parity.common.files import atomic_path
from parity.common.names import NUM_BATCHES_TRACKED, ms_to_torch_names, torch_to_ms_names
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


def read_checkpoint(path, model=None):
    """What torch.load gives for a PyTorch file, or a MindSpore one converted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in MINDSPORE_SUFFIXES:
        with converted(path, TORCH_SUFFIXES[0], model) as copy:
            return load_torch_file(copy)
    return load_torch_file(path)


def read_form(path, model=None):
    """The Checkpoint a PyTorch file (or a MindSpore one, converted) holds, every name and
    shape checked against `model`, or against every model when None (parity.common.
    checkpoints.match_model): what parity convert reads."""
    raw = read_checkpoint(path, model)
    config = raw.get(CONFIG) if isinstance(raw, dict) else None
    return match_model(path, lambda name: _parse(path, raw, name), list(raw) if isinstance(raw, dict) else [],
                       config if isinstance(config, dict) else None, expected, model)


def to_torch(ck):
    """What torch.load would return for this checkpoint in the project's PyTorch layout
    (the same names as pytorch/examples' dcgan)."""
    exp = expected(ck.model)
    # In the order of the model's state_dict: exp's names are, and num_batches_tracked follows running_var.
    states = {net: ms_to_torch_state({n: arrays[n] for n in exp[net].shapes}) for net, arrays in ck.networks.items()}
    if not ck.training:
        return next(iter(states.values()))
    result = dict(states)
    for net, state in ck.optimizers.items():
        result[OPTIMIZER[net]] = _torch_adam(exp[net], state, ck.config)
    if ck.epoch is not None:
        result[EPOCH] = int(ck.epoch)
    if ck.config is not None:
        result[CONFIG] = ck.config
    return result


def write_form(ck, path, layout="project"):
    """Write a Checkpoint as a PyTorch file, atomically (parity.common.files.atomic_path);
    returns the number of tensors written. pytorch/examples' `layout` "tutorial" has the
    project's names."""
    obj = to_torch(ck)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return sum(1 for _ in _tensors(obj))


def _tensors(obj):
    """Every tensor in a torch.save'd object, nested dicts included."""
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, torch.Tensor):
        yield obj


def ms_to_torch_state(arrays, order=None):
    """{MindSpore name: array} -> PyTorch state_dict, with `num_batches_tracked` made up
    (0) for every BatchNorm layer; in `order` (a state_dict's names) when given."""
    state = {}
    for ms_name, name in ms_to_torch_names(arrays).items():
        state[name] = torch.from_numpy(np.array(arrays[ms_name], copy=True))
        layer, _, leaf = name.rpartition(".")
        if leaf == "running_var":
            state[f"{layer}.{NUM_BATCHES_TRACKED}"] = torch.tensor(0, dtype=torch.long)
    if order:
        state = {name: state[name] for name in order if name in state} | state
    return state


def torch_to_ms_state(state):
    """PyTorch state_dict -> {MindSpore name: numpy array}; `num_batches_tracked` is dropped."""
    return _arrays("state_dict", state, [])


def _torch_adam(expected, state, config):
    """A torch.optim.Adam state_dict for the network `expected` describes, hyperparameters
    from the run's config or the tutorials' defaults."""
    params = [torch.nn.Parameter(torch.zeros(0)) for _ in expected.trainable]
    optimizer = torch.optim.Adam(params, lr=adam_hyper(config, "lr"), eps=adam_hyper(config, "eps"),
                                 betas=(adam_hyper(config, "beta1"), adam_hyper(config, "beta2")))
    result = optimizer.state_dict()
    result["state"] = {i: {"step": torch.tensor(state.step, dtype=torch.float32),
                           "exp_avg": torch.from_numpy(np.array(state.exp_avg[name], copy=True)),
                           "exp_avg_sq": torch.from_numpy(np.array(state.exp_avg_sq[name], copy=True))}
                       for i, name in enumerate(expected.trainable)}
    return result


# ---------------------------------------------------------------- the layouts


def _np(tensor):
    return tensor.detach().cpu().numpy()


def _is_training(raw):
    return isinstance(raw, dict) and (GENERATOR in raw or DISCRIMINATOR in raw)


def _arrays(path, state, notes):
    """A state_dict's {MindSpore name: array}; a note when num_batches_tracked is dropped."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state_dict of tensors")
    arrays = {ms_name: _np(state[name]) for name, ms_name in torch_to_ms_names(state).items() if ms_name}
    if len(arrays) < len(state) and not any(NUM_BATCHES_TRACKED in n for n in notes):
        notes.append(f"{NUM_BATCHES_TRACKED} dropped: MindSpore's BatchNorm has no such parameter")
    return arrays


def _adam(path, net, state_dict, expected):
    """A torch.optim.Adam state_dict of the network `expected` describes, as AdamState."""
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
        raise CheckpointError(f"{path}: {OPTIMIZER[net]} is not a torch.optim.Adam state_dict")
    indices = [i for group in state_dict["param_groups"] for i in group["params"]]
    names = expected.trainable
    if len(indices) != len(names):
        raise CheckpointError(f"{path}: {OPTIMIZER[net]} holds {len(indices)} parameters, the {net} has {len(names)}")
    name_of = dict(zip(indices, names))
    exp_avg, exp_avg_sq, steps = {}, {}, set()
    try:
        for index, entry in state_dict["state"].items():
            name = name_of[index]
            exp_avg[name], exp_avg_sq[name] = _np(entry["exp_avg"]), _np(entry["exp_avg_sq"])
            if exp_avg_sq[name].any():
                # A parameter whose moments are 0 has had no gradient since its state was made
                # (the adversarial head of a --supervised D): Adam leaves it where it is, and
                # its step, which then lags the others', moves nothing.
                steps.add(float(entry["step"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path}: {OPTIMIZER[net]} is not a torch.optim.Adam state_dict "
                              f"(missing or bad entry {error})") from None
    if len(steps) > 1:
        raise CheckpointError(f"{path}: {OPTIMIZER[net]} has different step counts {sorted(steps)}; "
                              f"MindSpore's Adam keeps one for all parameters")
    for name in names:   # parameters that never had a gradient: Adam's initial state
        exp_avg.setdefault(name, np.zeros(expected.shapes[name], np.float32))
        exp_avg_sq.setdefault(name, np.zeros(expected.shapes[name], np.float32))
    return AdamState(exp_avg, exp_avg_sq, steps.pop() if steps else 0.0)


def _training(path, raw):
    """A training dict's networks, epoch and config (its Adam states need the model: _adam)."""
    known = {GENERATOR, DISCRIMINATOR, *OPTIMIZER.values(), EPOCH, CONFIG}
    if set(raw) - known:
        raise CheckpointError(f"{path}: unexpected keys in a training checkpoint: {sorted(set(raw) - known)}")
    missing = sorted({GENERATOR, DISCRIMINATOR} - set(raw))
    if missing:
        raise CheckpointError(f"{path}: missing keys in a training checkpoint: {missing}")
    notes = []
    return Checkpoint({net: _arrays(path, raw[net], notes) for net in NETWORKS}, training=True,
                      epoch=raw.get(EPOCH), config=raw.get(CONFIG), layout="training", notes=notes)


def _parse(path, raw, model):
    """`raw` (what torch.load gave) read as a checkpoint of `model`, unchecked."""
    if _is_training(raw):
        ck = _training(path, raw)
        ck.optimizers = {net: _adam(path, net, raw[OPTIMIZER[net]], expected(model)[net])
                         for net in NETWORKS if OPTIMIZER[net] in raw}
        return ck
    notes = []
    arrays = _arrays(path, raw, notes)
    return Checkpoint({identify(path, arrays, expected(model), model): arrays}, notes=notes)


# ---------------------------------------------------------------- the trainer, generate and evaluate


def _parts(step):
    """(network key, network, its optimizer) of a TrainStep."""
    return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))


def save_training_checkpoint(path, step, epoch, config):
    """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
    ck = Checkpoint({key: state_arrays(net) for key, net, _ in _parts(step)}, training=True,
                    optimizers={key: _adam(path, key, optimizer.state_dict(), _expected_of(net))
                                for key, net, optimizer in _parts(step)},
                    epoch=epoch, config=config, model=config["model"])
    write_form(ck, path)


def load_training_checkpoint(path, step):
    """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
    ck = require_training(path, read_form(path))
    for key, net, optimizer in _parts(step):
        load_arrays(net, ck.networks[key])
        optimizer.load_state_dict(_torch_adam(_expected_of(net), ck.optimizers[key], ck.config))
    return int(ck.epoch), ck.config


def load_network(path, part=GENERATOR, model=None):
    """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
    training checkpoint, or a weights-only one of that network, of either framework; the
    model comes from the file (parity.common.checkpoints.checkpoint_model), `model` must agree."""
    raw = read_checkpoint(path, model)
    if _is_training(raw):
        ck = _training(path, raw)
        arrays, config = ck.networks[part], ck.config
    else:
        arrays, config = _arrays(path, raw, []), None
    model = network_model(path, part, arrays, config, expected, model)
    net = torch_gan.models.build(model)[part == DISCRIMINATOR]
    load_arrays(net, arrays)
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint, or None."""
    raw = read_checkpoint(path)
    return raw.get(CONFIG) if isinstance(raw, dict) else None
