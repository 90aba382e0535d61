"""The project's checkpoint files and their framework-free form, shared by both twins and
the converter. Nothing here imports mindspore or torch.

Weights-only files hold one network, under the model's own parameter names:
    MindSpore `.ckpt`: MindSpore names (`main.1.gamma`, `main.1.moving_mean`, ...)
    PyTorch `.pt`/`.pth`: a state_dict (`main.1.weight`, `main.1.running_mean`, ...)

Training checkpoints hold G, D, both Adam states, the epoch and the run's config:

    MindSpore `.ckpt` (mindspore.save_checkpoint of a list of {"name", "data"} entries):
        generator.<name>                  G's parameters and running statistics
        discriminator.<name>              D's
        optimizer_g.exp_avg.<name>        mindspore.mint.optim.Adam's first moment of G's <name>
        optimizer_g.exp_avg_sq.<name>     its second moment
        optimizer_g.state_step            its step count (one float32 for all parameters)
        optimizer_d.*                     the same for D
        epoch                             int32 scalar: epochs completed
        config                            the run's config as a JSON string (append_dict)

    PyTorch `.pt` (torch.save of a dict, loadable with weights_only=True):
        {"generator": state_dict, "discriminator": state_dict,
         "optimizer_g": torch.optim.Adam state_dict, "optimizer_d": ...,
         "epoch": int, "config": dict}
    PyTorch's Adam state is keyed by parameter index, in the order of
    module.parameters(), which is the order of the trainable names of the MindSpore twin.

layouts.py reads both frameworks' files into a `Checkpoint` (numpy arrays under the
project's MindSpore names, parity/common/names.py) and writes one out, so each layout is
read and written in one place, with neither framework (docs/cross_machine.md#checkpoint-files).
The rules here need no framework either: `identify`, the one answer to "which model, and
which network, is this file?" (over every model in configs.MODELS, from a twin's own
models: `Expected`) with its one error text, nn.Adam's step count.
"""
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .configs import MODELS
from .frameworks import FRAMEWORKS, MINDSPORE, TORCH, framework_of_suffix

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
NETWORKS = (GENERATOR, DISCRIMINATOR)
SHORT = {GENERATOR: "G", DISCRIMINATOR: "D"}
OPTIMIZER = {GENERATOR: "optimizer_g", DISCRIMINATOR: "optimizer_d"}
EXP_AVG = "exp_avg"
EXP_AVG_SQ = "exp_avg_sq"
STATE_STEP = "state_step"
EPOCH = "epoch"
CONFIG = "config"

# Adam hyperparameters when the checkpoint's config does not name them: both tutorials'.
ADAM_DEFAULTS = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}


class CheckpointError(ValueError):
    """A file that is no checkpoint of the project's models; the message names the file
    and the reason. parity.convert calls it ConversionError."""


@dataclass
class AdamState:
    """One network's Adam state under MindSpore parameter names; as a PyTorch file is read,
    before the model is known, under PyTorch's parameter indices, `order` the indices of
    its param_groups (identify names them)."""
    exp_avg: dict
    exp_avg_sq: dict
    step: float
    order: tuple = None


@dataclass
class Checkpoint:
    """A checkpoint in framework-free form: numpy arrays under the project's MindSpore names."""
    networks: dict                     # GENERATOR / DISCRIMINATOR -> {name: array}
    training: bool = False
    optimizers: dict = field(default_factory=dict)   # GENERATOR / DISCRIMINATOR -> AdamState
    epoch: int = None
    config: dict = None
    layout: str = "project"            # as read: "project", "tutorial" or "training"
    notes: list = field(default_factory=list)
    model: str = None                  # the configs.MODELS name whose networks it fits
    source: object = None              # the file as its framework's loader gives it, tensors as numpy arrays


@dataclass(frozen=True)
class Expected:
    """One network of a model as a framework builds it, under MindSpore names."""
    shapes: dict      # name -> shape, every parameter and running statistic
    trainable: tuple  # trainable names in MindSpore order = PyTorch's parameters() order


def framework_of(path):
    """MINDSPORE or TORCH, from the file's suffix."""
    record = framework_of_suffix(path)
    if record is not None:
        return record.key
    suffix = Path(path).suffix.lower()
    raise CheckpointError(f"{path}: unknown checkpoint type {suffix or '(no suffix)'!r}; use " + " or ".join(
        f"{', '.join(record.suffixes)} for {record.display}" for record in FRAMEWORKS.values()))


# ---------------------------------------------------------------- rules without a model


def nonfinite(ck):
    """"G main.0.weight", "optimizer_d.exp_avg main.3.gamma", ... of every array holding NaN or Inf."""
    groups = [(SHORT[n], a) for n, a in ck.networks.items()]
    for net, state in ck.optimizers.items():
        groups += [(f"{OPTIMIZER[net]}.{EXP_AVG}", state.exp_avg), (f"{OPTIMIZER[net]}.{EXP_AVG_SQ}", state.exp_avg_sq)]
    return [f"{label} {name}" for label, arrays in groups for name, a in arrays.items()
            if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all()]


def require_training(path, ck):
    """`ck` when it is a training checkpoint a run can resume from, else a CheckpointError."""
    lacking = [OPTIMIZER[net] for net in NETWORKS if net not in ck.optimizers]
    lacking += [key for key, value in ((EPOCH, ck.epoch), (CONFIG, ck.config)) if value is None]
    if lacking:
        raise CheckpointError(f"{path}: not a training checkpoint to resume from (it lacks {', '.join(lacking)})")
    return ck


def adam_hyper(config, key):
    """Adam's `key` (lr, beta1, beta2, eps) in a run's config, or the tutorials' default."""
    value = (config or {}).get(key)
    if value is None and key in ("beta1", "beta2") and (config or {}).get("betas"):
        value = config["betas"][key == "beta2"]
    return ADAM_DEFAULTS[key] if value is None else value


def nn_adam_step(path, net, powers, config):
    """nn.Adam's step count: the t at which float32 beta**t, multiplied up one step at a
    time as nn.Adam does, equals the stored beta1_power and beta2_power exactly."""
    betas = (np.float32(adam_hyper(config, "beta1")), np.float32(adam_hyper(config, "beta2")))
    stored = [np.float32(np.asarray(powers[k]).reshape(())) for k in ("beta1_power", "beta2_power")]
    guess = int(round(np.log(stored[1]) / np.log(betas[1]))) if 0 < stored[1] < 1 else 0
    length = guess + 64
    series = [np.cumprod(np.concatenate([[np.float32(1)], np.full(length, b, np.float32)]), dtype=np.float32)
              for b in betas]
    for t in range(length + 1):
        if series[0][t] == stored[0] and series[1][t] == stored[1]:
            return float(t)
    raise CheckpointError(f"{path}: {OPTIMIZER[net]} beta1_power {stored[0]} and beta2_power {stored[1]} are "
                          f"not powers of betas {tuple(map(float, betas))}: give the run's beta1 and beta2 "
                          f"in the checkpoint's config")


def config_model(path, config, model=None):
    """The model a training checkpoint's config names, or None; a `model` (--model) other
    than it is a CheckpointError naming both."""
    stored = config.get("model") if isinstance(config, dict) else None
    if stored is not None and model is not None and model != stored:
        raise CheckpointError(f"--model {model} contradicts {path}: it is a {stored} checkpoint (its config); "
                              f"leave --model out")
    return stored


def candidate_models(ck):
    """The models a Checkpoint as read may be of: the one its config names, else every model."""
    stored = config_model(None, ck.config)
    return [stored] if stored is not None else list(MODELS)


# ---------------------------------------------------------------- which model: the one engine


def identify(path, ck, expected, model=None, part=None):
    """`ck` completed as a checkpoint of the model it is, every name and shape checked:
    `.model` set, a weights-only file's network named, PyTorch's Adam moments named. The
    model is the one a training checkpoint's config names (`model`, --model, must agree),
    else the one model in `expected` it fits; `model` must be one of those it fits.
    `part` (GENERATOR or DISCRIMINATOR): only that network is wanted (generate, evaluate,
    export); it alone is kept and checked. Any other case is a CheckpointError, each a
    one-line text (`_misfit` says what does not fit).

    ck: a Checkpoint as layouts.py reads it, the model not yet known: a weights-only file's
    network under None unless its layout names it, PyTorch's Adam moments under indices.
    expected: {model: {GENERATOR / DISCRIMINATOR: Expected}} of candidate_models(ck)."""
    stored = config_model(path, ck.config, model)
    if part is not None:
        ck = replace(ck, networks={part: next(iter(ck.networks.values())) if not ck.training else ck.networks[part]},
                     optimizers={})
    fits, misfits = {}, {}
    for name in ([stored] if stored is not None else expected):
        fits[name], misfits[name] = _fit(ck, expected[name])
    fits = {name: fit for name, fit in fits.items() if fit is not None}
    if stored is not None and stored not in fits:
        raise CheckpointError(_misfit(path, ck, part, stored, stored, misfits[stored]))
    if fits:
        what = "the " + " and ".join(next(iter(fits.values())).networks)
        name = pick_model(path, what, list(fits), model)
        return replace(fits[name], model=name)
    if part is not None and not ck.training:
        other = DISCRIMINATOR if part == GENERATOR else GENERATOR
        arrays = ck.networks[part]
        others = [name for name in expected if _fit(replace(ck, networks={other: arrays}), expected[name])[0]]
        if others:
            raise CheckpointError(f"{path} holds the {other} of {' or '.join(others)}, not a {part}")
    closest = model or max(expected, key=lambda name: _overlap(ck, expected[name]))
    raise CheckpointError(_misfit(path, ck, part, model, closest, misfits[closest]))


def _fit(ck, expected):
    """(`ck` completed for the model `expected` describes, None) when it fits that model,
    else (None, what does not fit: "the generator: missing keys: ...")."""
    networks, optimizers = {}, {}
    for net, arrays in ck.networks.items():
        if net is None:     # the file does not say which network: the one whose names and shapes it has
            net = next((n for n in NETWORKS if not _mismatch(arrays, expected[n].shapes)),
                       max(NETWORKS, key=lambda n: len(set(arrays) & set(expected[n].shapes))))
        problem = _mismatch(arrays, expected[net].shapes)
        if problem:
            return None, f"{net}: {problem}"
        networks[net] = arrays
    for net, state in ck.optimizers.items():
        names = expected[net].trainable
        if state.order is not None:
            if len(state.order) != len(names):
                return None, f"{OPTIMIZER[net]}: it holds {len(state.order)} parameters, the {net} has {len(names)}"
            state = name_adam(state, expected[net])
        trainable = {n: expected[net].shapes[n] for n in names}
        for label, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
            problem = _mismatch(moments, trainable)
            if problem:
                return None, f"{OPTIMIZER[net]} {label}: {problem}"
        optimizers[net] = state
    return replace(ck, networks=networks, optimizers=optimizers), None


def name_adam(state, expected):
    """A PyTorch Adam state under parameter indices (`state.order`, as many as the network
    `expected` describes has trainable names) under those names, in order; a parameter that
    never had a gradient (no state) gets Adam's initial state, zeros."""
    name_of = dict(zip(state.order, expected.trainable))
    moments = []
    for by_index in (state.exp_avg, state.exp_avg_sq):
        named = {name_of[i]: a for i, a in by_index.items()}
        moments.append({n: named[n] if n in named else np.zeros(expected.shapes[n], np.float32)
                        for n in expected.trainable})
    return AdamState(*moments, state.step)


def _mismatch(arrays, shapes):
    """What keeps `arrays` from having exactly the names and `shapes` ({name: shape}), or ""."""
    missing = sorted(set(shapes) - set(arrays))
    unexpected = sorted(set(arrays) - set(shapes))
    wrong = [f"{n}: file {tuple(arrays[n].shape)}, model {shapes[n]}"
             for n in shapes if n in arrays and tuple(arrays[n].shape) != shapes[n]]
    parts = [("missing keys", ", ".join(missing)), ("unexpected keys", ", ".join(unexpected)),
             ("shape mismatches (wrong architecture or config?)", "; ".join(wrong))]
    return "; ".join(f"{label}: {names}" for label, names in parts if names)


def _overlap(ck, expected):
    """How many of `ck`'s names the model `expected` describes has, network by network."""
    return sum(len(set(arrays) & set(expected[net].shapes)) if net is not None
               else max(len(set(arrays) & set(expected[n].shapes)) for n in NETWORKS)
               for net, arrays in ck.networks.items())


def _misfit(path, ck, part, model, closest, problem):
    """The one text of a file that is no checkpoint of `model` (None: of any model)."""
    what = part or ("training checkpoint" if ck.training else next(iter(ck.networks)) or " or ".join(NETWORKS))
    return f"{path} holds no {what} of {model or 'any model'}; against {closest}'s {problem}"


def pick_model(path, what, fits, model=None):
    """The one model of `fits` (the models whose `what`, "the generator" say, has the file's
    names and shapes), or `model` if it is one of them; None when none fits. Several
    alike (cnn_gan's and sgan's generators are the same network) need --model, and a
    `model` that another model's network fits contradicts the file: each a CheckpointError."""
    if model is not None and model in fits:
        return model
    if model is not None and fits:
        raise CheckpointError(f"--model {model} contradicts {path}: {what} is {' or '.join(fits)}'s")
    if len(fits) > 1:
        raise CheckpointError(f"{path}: ambiguous: {what} fits {' and '.join(fits)} alike "
                              f"(the same names and shapes); give --model {'|'.join(fits)}")
    return fits[0] if fits else None
