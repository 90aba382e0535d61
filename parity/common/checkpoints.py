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
The rules here need no framework either: the name and shape checks, which network a
weights-only file holds, which model a file is (over every model in configs.MODELS, from
each framework's own models: `Expected`), nn.Adam's step count.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .configs import MODELS
from .frameworks import FRAMEWORKS, MINDSPORE, TORCH

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

MINDSPORE_SUFFIXES = FRAMEWORKS[MINDSPORE].suffixes
TORCH_SUFFIXES = FRAMEWORKS[TORCH].suffixes
# Adam hyperparameters when the checkpoint's config does not name them: both tutorials'.
ADAM_DEFAULTS = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}


class CheckpointError(ValueError):
    """A file that is no checkpoint of the project's models; the message names the file
    and the reason. parity.convert calls it ConversionError."""


@dataclass
class AdamState:
    """One network's Adam state under MindSpore parameter names."""
    exp_avg: dict
    exp_avg_sq: dict
    step: float


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


@dataclass(frozen=True)
class Expected:
    """One network of a model as a framework builds it, under MindSpore names."""
    shapes: dict      # name -> shape, every parameter and running statistic
    trainable: tuple  # trainable names in MindSpore order = PyTorch's parameters() order


def framework_of(path):
    """MINDSPORE or TORCH, from the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in MINDSPORE_SUFFIXES:
        return MINDSPORE
    if suffix in TORCH_SUFFIXES:
        return TORCH
    raise CheckpointError(f"{path}: unknown checkpoint type {suffix or '(no suffix)'!r}; use "
                          f"{', '.join(MINDSPORE_SUFFIXES)} for MindSpore or {', '.join(TORCH_SUFFIXES)} for PyTorch")


# ---------------------------------------------------------------- names and shapes


def _mismatches(arrays, shapes):
    missing = sorted(set(shapes) - set(arrays))
    unexpected = sorted(set(arrays) - set(shapes))
    wrong = [f"{n}: file {tuple(arrays[n].shape)}, model {shapes[n]}"
             for n in shapes if n in arrays and tuple(arrays[n].shape) != shapes[n]]
    return missing, unexpected, wrong


def _problem_text(path, what, missing, unexpected, shapes):
    lines = [f"{path}: {what} does not fit the model"]
    if missing:
        lines.append(f"  missing keys: {', '.join(missing)}")
    if unexpected:
        lines.append(f"  unexpected keys: {', '.join(unexpected)}")
    if shapes:
        lines.append("  shape mismatches (wrong architecture or config?):")
        lines += [f"    {s}" for s in shapes]
    return "\n".join(lines)


def check_network(path, net, arrays, expected, model):
    """Every name and shape of `arrays` is the `net` of `model` (its Expected), or a
    CheckpointError lists each difference."""
    problems = _mismatches(arrays, expected.shapes)
    if any(problems):
        raise CheckpointError(_problem_text(path, f"the {net} ({model})", *problems))


def identify(path, arrays, expected, model):
    """Which network a weights-only file holds: the one of `model` (`expected`: its
    {GENERATOR / DISCRIMINATOR: Expected}) whose names and shapes it has."""
    for net in NETWORKS:
        if not any(_mismatches(arrays, expected[net].shapes)):
            return net
    closest = max(NETWORKS, key=lambda n: len(set(arrays) & set(expected[n].shapes)))
    raise CheckpointError(_problem_text(path, f"neither network of {model}; closest is the {closest}, which",
                                        *_mismatches(arrays, expected[closest].shapes)))


def _check_adam(path, net, state, expected):
    trainable = {n: expected.shapes[n] for n in expected.trainable}
    for label, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
        problems = _mismatches(moments, trainable)
        if any(problems):
            raise CheckpointError(_problem_text(path, f"{OPTIMIZER[net]} {label}", *problems))


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


# ---------------------------------------------------------------- Adam


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


# ---------------------------------------------------------------- which model: parity convert


def match_model(path, parse, names, config, expected, model=None):
    """The file as a Checkpoint of the model its config names (a `model` other than it is
    refused), of `model`, or of the one model in MODELS it fits when `model` is None, every
    name and shape checked against that model. A file that fits several models alike
    (cnn_gan's and sgan's generators are the same network) needs `model`, and a `model`
    that another model fits contradicts the file (pick_model).

    parse(model) -> the file read as that model's Checkpoint, unchecked (a CheckpointError
    when it cannot be); expected(model) -> {GENERATOR / DISCRIMINATOR: Expected};
    names: the file's own names (the closest model shares most); config: the run's
    config the file holds (a dict), or None."""
    stored = config_model(path, config, model)
    if stored is not None:
        return _fit(path, parse, expected, stored)
    if model is not None:
        try:
            return _fit(path, parse, expected, model)
        except CheckpointError:
            fits, errors = _fitting(path, parse, expected)
            if not fits:
                raise
    else:
        fits, errors = _fitting(path, parse, expected)
    if not fits:   # say what does not fit the closest model, parameter by parameter
        closest = max(MODELS, key=lambda m: max(len(set(names) & set(expected(m)[n].shapes)) for n in NETWORKS))
        raise CheckpointError(f"{errors[closest]}\n  the file fits no model; {closest} is the closest by "
                              f"parameter names (give --model NAME to compare with another)")
    what = "the " + " and ".join(next(iter(fits.values())).networks)
    return fits[pick_model(path, what, list(fits), model)]


def _fit(path, parse, expected, model):
    ck = parse(model)
    for net, arrays in ck.networks.items():
        check_network(path, net, arrays, expected(model)[net], model)
    for net, state in ck.optimizers.items():
        _check_adam(path, net, state, expected(model)[net])
    ck.model = model
    return ck


def _fitting(path, parse, expected):
    """({model: Checkpoint} of every model in MODELS the file fits, {model: CheckpointError} of the others)."""
    fits, errors = {}, {}
    for model in MODELS:
        try:
            fits[model] = _fit(path, parse, expected, model)
        except CheckpointError as error:
            errors[model] = error
    return fits, errors


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


def config_model(path, config, model=None):
    """The model a training checkpoint's config names, or None; a `model` (--model) other
    than it is a CheckpointError naming both."""
    stored = (config or {}).get("model")
    if stored is not None and model is not None and model != stored:
        raise CheckpointError(f"--model {model} contradicts {path}: it is a {stored} checkpoint (its config); "
                              f"leave --model out")
    return stored


# ---------------------------------------------------------------- which model: generate, evaluate


def _difference(entries, expected):
    """What keeps `entries` ({name: shape}) from being `expected`, in a few words."""
    missing = [n for n in expected if n not in entries]
    unexpected = [n for n in entries if n not in expected]
    shapes = [f"{n} {entries[n]} (not {expected[n]})" for n in expected if n in entries and entries[n] != expected[n]]
    parts = [(f"{len(missing)} missing", missing), (f"{len(unexpected)} unexpected", unexpected),
             (f"{len(shapes)} of other shapes", shapes)]
    return "; ".join(f"{label}, e.g. {', '.join(names[:2])}" for label, names in parts if names)


def checkpoint_model(path, entries, config, part, network_shapes, model=None):
    """The model whose `part` (GENERATOR or DISCRIMINATOR) checkpoint `path` holds, for
    `generate` and `evaluate`: a training checkpoint's config names it; a weights-only file
    is matched by names and shapes against every model, as `parity convert` does.

    entries: {name: shape} of the file's `part` (its own network for a weights-only file);
    config: the training config it holds, or None; network_shapes(model, part) -> {name:
    shape} of that network under the same names. `model` (--model) must agree with the
    file; any other case is a one-line CheckpointError."""
    stored = config_model(path, config, model)
    if stored is not None:
        return stored
    fits = [name for name in MODELS if network_shapes(name, part) == entries]
    found = pick_model(path, f"the {part}", fits, model)
    if found is not None:
        return found
    other = DISCRIMINATOR if part == GENERATOR else GENERATOR
    others = [name for name in MODELS if network_shapes(name, other) == entries]
    if others:
        raise CheckpointError(f"{path} holds the {other} of {' or '.join(others)}, not a {part}")
    closest = model or max(MODELS, key=lambda name: len(set(entries) & set(network_shapes(name, part))))
    raise CheckpointError(f"{path} holds no {part} of {model or 'any model'}; against {closest}'s: "
                          f"{_difference(entries, network_shapes(closest, part))}")


def network_model(path, part, arrays, config, expected, model=None):
    """The model whose `part` a file's `arrays` are (checkpoint_model), checked to fit it:
    what generate and evaluate load. expected(model) -> {GENERATOR / DISCRIMINATOR: Expected}."""
    entries = {name: tuple(a.shape) for name, a in arrays.items()}
    found = checkpoint_model(path, entries, config, part, lambda name, net: expected(name)[net].shapes, model)
    check_network(path, part, arrays, expected(found)[part], found)
    return found
