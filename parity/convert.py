"""`python -m parity convert SRC DST`: checkpoints from MindSpore to PyTorch and back.

The direction comes from the suffixes: `.ckpt` is MindSpore, `.pt`/`.pth` PyTorch.
Every file is read into one framework-free form (numpy arrays under the project's
MindSpore names, parity/common/names.py) and written from it, so values and dtypes
are kept bit for bit.

Layouts read, and how they are told apart (first rule that matches):
    PyTorch, a dict with "generator"/"discriminator"/"optimizer_*" entries:
        the project's training checkpoint (parity/common/checkpoints.py)
    PyTorch, a state_dict: one network under the model's names (dcgan: `main.<i>.<name>`,
        the names of pytorch/examples' dcgan and the PyTorch faces tutorial, so their
        `netG`/`netD` files are this layout too).
    MindSpore, any name `epoch`, `config`, `optimizer_*.`, or `generator.<layer>.` or
        `discriminator.<layer>.` (`generator.main.0.weight`): the project's training checkpoint
    MindSpore, every name `generator.<i>.` or every name `discriminator.<i>.` (an
        index, not `main.`): the MindSpore faces tutorial's generator.ckpt /
        discriminator.ckpt, whose SequentialCell is *called* generator/discriminator
    MindSpore, otherwise: one network under the model's names (dcgan: `main.<i>.<name>`)
A single-network file is matched against the generator and the discriminator that
`ms_gan.models.build(model)` makes; whichever has the same names and shapes holds it.
Without a model, the file is matched against every model in configs.MODELS: the one
it fits is used; one that fits several alike (cnn_gan's and sgan's generators are the
same network) needs the model named, and the error says so.

`num_batches_tracked` has no MindSpore twin: it is dropped on the way to MindSpore and
written as 0 on the way to PyTorch (BatchNorm reads it only when momentum is None).
Adam: MindSpore's mint.optim.Adam (`exp_avg.*`, `exp_avg_sq.*`, `state_step`) and
PyTorch's Adam keep the same moments and step. nn.Adam's `moment1.*`/`moment2.*` are
the same moments; its step count is recovered from `beta1_power`/`beta2_power`.
"""
import json
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import mindspore as ms
import numpy as np
import torch

import ms_gan.models
import torch_gan.models
from ms_gan.checkpoint import load_ms_file
from ms_gan.device import use_device as use_ms_device
from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, EXP_AVG, EXP_AVG_SQ, GENERATOR,
                                       MINDSPORE_SUFFIXES, OPTIMIZER, STATE_STEP, TORCH_SUFFIXES, config_model,
                                       pick_model)
from parity.common.configs import MODELS, get_config
from parity.common.files import atomic_path
from parity.common.names import NUM_BATCHES_TRACKED, ms_to_torch_names, torch_to_ms_names
from torch_gan.checkpoint import load_torch_file

MINDSPORE, TORCH = "mindspore", "torch"
NETWORKS = (GENERATOR, DISCRIMINATOR)
SHORT = {GENERATOR: "G", DISCRIMINATOR: "D"}
LAYOUTS = ("project", "tutorial")
PROJECT_PREFIX = "main."
# Adam hyperparameters when the checkpoint's config does not name them: both tutorials'.
ADAM_DEFAULTS = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}
NN_ADAM_MOMENTS = {"moment1": EXP_AVG, "moment2": EXP_AVG_SQ}
NN_ADAM_DROPPED = ("global_step", "learning_rate")


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names the file and the reason."""


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
    layout: str = "project"
    notes: list = field(default_factory=list)
    model: str = None                  # the configs.MODELS name whose networks it fits


@dataclass
class ConversionReport:
    src: str
    dst: str
    source: str            # framework of SRC
    target: str            # framework of DST
    layout_in: str
    layout_out: str
    model: str
    networks: tuple
    tensors: int           # tensors written
    notes: list
    checks: list = None    # parity.report.Check rows when verified

    @property
    def passed(self):
        return self.checks is None or all(c.passed for c in self.checks)


def framework_of(path):
    """MINDSPORE or TORCH, from the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in MINDSPORE_SUFFIXES:
        return MINDSPORE
    if suffix in TORCH_SUFFIXES:
        return TORCH
    raise ConversionError(f"{path}: unknown checkpoint type {suffix or '(no suffix)'!r}; "
                          f"use {', '.join(MINDSPORE_SUFFIXES)} for MindSpore or {', '.join(TORCH_SUFFIXES)} for PyTorch")


# ---------------------------------------------------------------- the model's expected names


@dataclass(frozen=True)
class Expected:
    shapes: dict      # MindSpore name -> shape, every parameter and running statistic
    trainable: tuple  # trainable names in MindSpore order = PyTorch's parameters() order
    torch_order: tuple


@lru_cache(maxsize=None)
def expected(model):
    """{GENERATOR / DISCRIMINATOR: Expected}, from building the project's models."""
    get_config(model)
    result = {}
    for net, ms_net, torch_net in zip(NETWORKS, ms_gan.models.build(model), torch_gan.models.build(model)):
        params = list(ms_net.parameters_and_names())
        result[net] = Expected({n: tuple(p.shape) for n, p in params},
                               tuple(n for n, p in params if p.requires_grad),
                               tuple(torch_net.state_dict()))
    return result


def _mismatches(arrays, exp):
    missing = sorted(set(exp.shapes) - set(arrays))
    unexpected = sorted(set(arrays) - set(exp.shapes))
    shapes = [f"{n}: file {tuple(arrays[n].shape)}, model {exp.shapes[n]}"
              for n in exp.shapes if n in arrays and tuple(arrays[n].shape) != exp.shapes[n]]
    return missing, unexpected, shapes


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


def _check_network(path, net, arrays, model):
    problems = _mismatches(arrays, expected(model)[net])
    if any(problems):
        raise ConversionError(_problem_text(path, f"the {net} ({model})", *problems))


def _identify(path, arrays, model):
    """Which network a single-network file holds: the one whose names it has."""
    exp = expected(model)
    for net in NETWORKS:
        if not any(_mismatches(arrays, exp[net])):
            return net
    closest = max(NETWORKS, key=lambda n: len(set(arrays) & set(exp[n].shapes)))
    raise ConversionError(_problem_text(path, f"neither network of {model}; closest is the {closest}, which",
                                        *_mismatches(arrays, exp[closest])))


def _check_adam(path, net, state, model):
    names = expected(model)[net].trainable
    shapes = expected(model)[net].shapes
    for label, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
        missing = sorted(set(names) - set(moments))
        unexpected = sorted(set(moments) - set(names))
        bad = [f"{n}: file {tuple(moments[n].shape)}, model {shapes[n]}"
               for n in names if n in moments and tuple(moments[n].shape) != shapes[n]]
        if missing or unexpected or bad:
            raise ConversionError(_problem_text(path, f"{OPTIMIZER[net]} {label}", missing, unexpected, bad))


# ---------------------------------------------------------------- reading


def _raw_load(path):
    path = Path(path)
    framework = framework_of(path)
    if not path.exists():
        raise ConversionError(f"{path}: no such file")
    if path.is_dir():
        raise ConversionError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise ConversionError(f"{path}: is empty")
    try:
        if framework == MINDSPORE:
            return {k: v if isinstance(v, str) else v.asnumpy() for k, v in load_ms_file(path).items()}
        return load_torch_file(path)
    except ValueError as error:
        raise ConversionError(str(error)) from None


def _np(tensor):
    return tensor.detach().cpu().numpy()


def _from_torch_state(path, state, notes):
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"{path}: expected a state_dict of tensors")
    arrays = {}
    for name, ms_name in torch_to_ms_names(state).items():
        if ms_name is None:
            continue
        arrays[ms_name] = _np(state[name])
    if len(arrays) < len(state) and not any(NUM_BATCHES_TRACKED in n for n in notes):
        notes.append(f"{NUM_BATCHES_TRACKED} dropped: MindSpore's BatchNorm has no such parameter")
    return arrays


def _from_torch_adam(path, net, state_dict, model):
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
        raise ConversionError(f"{path}: {OPTIMIZER[net]} is not a torch.optim.Adam state_dict")
    indices = [i for group in state_dict["param_groups"] for i in group["params"]]
    names = expected(model)[net].trainable
    if len(indices) != len(names):
        raise ConversionError(f"{path}: {OPTIMIZER[net]} holds {len(indices)} parameters, the {net} has {len(names)}")
    name_of = dict(zip(indices, names))
    exp_avg, exp_avg_sq, steps = {}, {}, set()
    try:
        for index, entry in state_dict["state"].items():
            name = name_of[index]
            exp_avg[name], exp_avg_sq[name] = _np(entry["exp_avg"]), _np(entry["exp_avg_sq"])
            steps.add(float(entry["step"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise ConversionError(f"{path}: {OPTIMIZER[net]} is not a torch.optim.Adam state_dict "
                              f"(missing or bad entry {error})") from None
    if len(steps) > 1:
        raise ConversionError(f"{path}: {OPTIMIZER[net]} has different step counts {sorted(steps)}; "
                              f"MindSpore's Adam keeps one for all parameters")
    for name in names:   # parameters that never had a gradient: Adam's initial state
        exp_avg.setdefault(name, np.zeros(expected(model)[net].shapes[name], np.float32))
        exp_avg_sq.setdefault(name, np.zeros(expected(model)[net].shapes[name], np.float32))
    return AdamState(exp_avg, exp_avg_sq, steps.pop() if steps else 0.0)


def _read_torch(path, raw, model):
    notes = []
    if isinstance(raw, dict) and (GENERATOR in raw or DISCRIMINATOR in raw):
        known = {GENERATOR, DISCRIMINATOR, *OPTIMIZER.values(), EPOCH, CONFIG}
        if set(raw) - known:
            raise ConversionError(f"{path}: unexpected keys in a training checkpoint: {sorted(set(raw) - known)}")
        missing = sorted({GENERATOR, DISCRIMINATOR} - set(raw))
        if missing:
            raise ConversionError(f"{path}: missing keys in a training checkpoint: {missing}")
        ck = Checkpoint({net: _from_torch_state(path, raw[net], notes) for net in NETWORKS}, training=True,
                        epoch=raw.get(EPOCH), config=raw.get(CONFIG), layout="training", notes=notes)
        for net in NETWORKS:
            if OPTIMIZER[net] in raw:
                ck.optimizers[net] = _from_torch_adam(path, net, raw[OPTIMIZER[net]], model)
        return ck
    arrays = _from_torch_state(path, raw, notes)
    return Checkpoint({_identify(path, arrays, model): arrays}, notes=notes)


def _nn_adam_step(path, net, powers, config):
    """nn.Adam's step count: the t at which float32 beta**t, multiplied up one step at a
    time as nn.Adam does, equals the stored beta1_power and beta2_power exactly."""
    betas = (np.float32(_hyper(config, "beta1")), np.float32(_hyper(config, "beta2")))
    stored = [np.float32(np.asarray(powers[k]).reshape(())) for k in ("beta1_power", "beta2_power")]
    guess = int(round(np.log(stored[1]) / np.log(betas[1]))) if 0 < stored[1] < 1 else 0
    length = guess + 64
    series = [np.cumprod(np.concatenate([[np.float32(1)], np.full(length, b, np.float32)]), dtype=np.float32)
              for b in betas]
    for t in range(length + 1):
        if series[0][t] == stored[0] and series[1][t] == stored[1]:
            return float(t)
    raise ConversionError(f"{path}: {OPTIMIZER[net]} beta1_power {stored[0]} and beta2_power {stored[1]} are "
                          f"not powers of betas {tuple(map(float, betas))}: give the run's beta1 and beta2 "
                          f"in the checkpoint's config")


def _read_ms_training(path, raw, model):
    ck = Checkpoint({GENERATOR: {}, DISCRIMINATOR: {}}, training=True, layout="training")
    optimizer_net = {v: k for k, v in OPTIMIZER.items()}
    moments = {net: {EXP_AVG: {}, EXP_AVG_SQ: {}} for net in NETWORKS}
    steps, powers, unexpected = {}, {net: {} for net in NETWORKS}, []
    if CONFIG in raw:
        try:
            ck.config = json.loads(raw[CONFIG])
        except (TypeError, ValueError):
            raise ConversionError(f"{path}: config is not a JSON string") from None
    for key, value in raw.items():
        head, _, rest = key.partition(".")
        if key == EPOCH:
            ck.epoch = int(np.asarray(value).reshape(()))
        elif key == CONFIG:
            pass
        elif head in NETWORKS:
            ck.networks[head][rest] = value
        elif head in optimizer_net:
            net = optimizer_net[head]
            kind, _, name = rest.partition(".")
            if rest == STATE_STEP:
                steps[net] = value
            elif kind in (EXP_AVG, EXP_AVG_SQ) and name:
                moments[net][kind][name] = value
            elif kind in NN_ADAM_MOMENTS and name:
                moments[net][NN_ADAM_MOMENTS[kind]][name] = value
            elif rest in ("beta1_power", "beta2_power"):
                powers[net][rest] = value
            elif rest not in NN_ADAM_DROPPED:
                unexpected.append(key)
        else:
            unexpected.append(key)
    if unexpected:
        raise ConversionError(f"{path}: unexpected keys in a training checkpoint: {', '.join(sorted(unexpected))}")
    for net in NETWORKS:
        if not any(moments[net].values()) and net not in steps and not powers[net]:
            ck.notes.append(f"no {OPTIMIZER[net]} state in the file")
            continue
        if net in steps:
            step = float(np.asarray(steps[net]).reshape(-1)[0])
        elif len(powers[net]) == 2:
            step = _nn_adam_step(path, net, powers[net], ck.config)
            ck.notes.append(f"{OPTIMIZER[net]}: nn.Adam state read as Adam moments; step {step:g} recovered "
                            f"from beta1_power/beta2_power (nn.Adam places epsilon differently: PORTING_NOTES.md)")
        else:
            raise ConversionError(f"{path}: {OPTIMIZER[net]} has moments but no {STATE_STEP} "
                                  f"(nor nn.Adam's beta1_power and beta2_power)")
        ck.optimizers[net] = AdamState(moments[net][EXP_AVG], moments[net][EXP_AVG_SQ], step)
    return ck


def _is_ms_training(names):
    """Any name `epoch`, `config`, `optimizer_*.` or `generator.`/`discriminator.` followed
    by a layer's name (not the tutorial's index)."""
    return any(n in (EPOCH, CONFIG) or n.startswith(tuple(f"{o}." for o in OPTIMIZER.values()))
               or (n.partition(".")[0] in NETWORKS and not n.split(".")[1].isdigit())
               for n in names)


def _tutorial_network(names):
    """GENERATOR or DISCRIMINATOR when every name is `<that>.<index>.`, else None."""
    for net in NETWORKS:
        if names and all(n.startswith(f"{net}.") and n.split(".")[1].isdigit() for n in names):
            return net
    return None


def _read_ms(path, raw, model):
    if _is_ms_training(raw):
        return _read_ms_training(path, raw, model)
    net = _tutorial_network(list(raw))
    if net is not None:
        arrays = {PROJECT_PREFIX + n[len(net) + 1:]: v for n, v in raw.items()}
        return Checkpoint({net: arrays}, layout="tutorial")
    if any(isinstance(v, str) for v in raw.values()):
        raise ConversionError(f"{path}: unexpected string entries: {[k for k, v in raw.items() if isinstance(v, str)]}")
    return Checkpoint({_identify(path, raw, model): raw})


def _nonfinite(ck):
    found = []
    groups = [(SHORT[n], a) for n, a in ck.networks.items()]
    for net, state in ck.optimizers.items():
        groups += [(f"{OPTIMIZER[net]}.{EXP_AVG}", state.exp_avg), (f"{OPTIMIZER[net]}.{EXP_AVG_SQ}", state.exp_avg_sq)]
    for label, arrays in groups:
        found += [f"{label} {name}" for name, a in arrays.items()
                  if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all()]
    return found


def _read(path, raw, model):
    """`raw` read as a checkpoint of `model`, every name and shape checked against it."""
    ck = _read_ms(path, raw, model) if framework_of(path) == MINDSPORE else _read_torch(path, raw, model)
    for net, arrays in ck.networks.items():
        _check_network(path, net, arrays, model)
    for net, state in ck.optimizers.items():
        _check_adam(path, net, state, model)
    ck.model = model
    return ck


def _fitting(path, raw):
    """{model: Checkpoint} of every model in MODELS whose networks the file fits."""
    fits = {}
    for model in MODELS:
        try:
            fits[model] = _read(path, raw, model)
        except ConversionError:
            pass
    return fits


def _what(ck):
    return "the " + " and ".join(ck.networks)


def _stored_config(raw):
    """The run's config that a training checkpoint holds (a dict), or None."""
    config = raw.get(CONFIG) if isinstance(raw, dict) else None
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return None
    return config if isinstance(config, dict) else None


def _detect(path, raw, model):
    """Read the file as the model its config names (a `model` other than it is refused), as
    `model`'s, or as the one model it fits when `model` is None. A file that fits several
    models alike (cnn_gan's and sgan's generators are the same network) needs --model, and a
    `model` that another model fits contradicts the file (parity.common.checkpoints.pick_model)."""
    try:
        stored = config_model(path, _stored_config(raw), model)
    except ValueError as error:
        raise ConversionError(str(error)) from None
    if stored is not None:
        return _read(path, raw, stored)
    if model is not None:
        try:
            return _read(path, raw, model)
        except ConversionError:
            fits = _fitting(path, raw)
            if not fits:
                raise
    else:
        fits = _fitting(path, raw)
    if not fits:   # say what does not fit the closest model, parameter by parameter
        closest = max(MODELS, key=lambda m: max(len(set(raw) & set(expected(m)[n].shapes)) for n in NETWORKS))
        try:
            _read(path, raw, closest)
        except ConversionError as error:
            raise ConversionError(f"{error}\n  the file fits no model; {closest} is the closest by "
                                  f"parameter names (give --model NAME to compare with another)") from None
    try:
        return fits[pick_model(path, _what(next(iter(fits.values()))), list(fits), model)]
    except ValueError as error:
        raise ConversionError(str(error)) from None


def read_checkpoint(path, model=None, strict=False):
    """Read any supported checkpoint into a Checkpoint, checking every name and shape
    against `model`, or against every model in MODELS when None (the one it fits is
    `.model`; more than one is an error). NaN/Inf values give a note (a warning), or an
    error when `strict`."""
    raw = _raw_load(path)
    ck = _detect(path, raw, model)
    bad = _nonfinite(ck)
    if bad:
        message = f"{path}: NaN or Inf in {', '.join(bad)}"
        if strict:
            raise ConversionError(message + " (refused: --strict)")
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        ck.notes.append("warning: " + message)
    return ck


# ---------------------------------------------------------------- writing


def _hyper(config, key):
    value = (config or {}).get(key)
    if value is None and key in ("beta1", "beta2") and (config or {}).get("betas"):
        value = config["betas"][key == "beta2"]
    return ADAM_DEFAULTS[key] if value is None else value


def _ms_names(net, layout):
    """Project name -> the name written: tutorial files use `<net>.<i>.` for `main.<i>.`."""
    if layout == "tutorial":
        return lambda name: f"{net}.{name[len(PROJECT_PREFIX):]}"
    return lambda name: name


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
    return _from_torch_state("state_dict", state, [])


def _torch_adam(net, state, model, config):
    """A torch.optim.Adam state_dict for the project's PyTorch network, hyperparameters
    from the run's config or the tutorials' defaults."""
    params = [torch.nn.Parameter(torch.zeros(0)) for _ in expected(model)[net].trainable]
    optimizer = torch.optim.Adam(params, lr=_hyper(config, "lr"), eps=_hyper(config, "eps"),
                                 betas=(_hyper(config, "beta1"), _hyper(config, "beta2")))
    result = optimizer.state_dict()
    result["state"] = {i: {"step": torch.tensor(state.step, dtype=torch.float32),
                           "exp_avg": torch.from_numpy(np.array(state.exp_avg[name], copy=True)),
                           "exp_avg_sq": torch.from_numpy(np.array(state.exp_avg_sq[name], copy=True))}
                       for i, name in enumerate(expected(model)[net].trainable)}
    return result


def to_torch(ck):
    """What torch.load would return for this checkpoint in the project's PyTorch layout
    (the same names as pytorch/examples' dcgan)."""
    model = ck.model
    exp = expected(model)
    states = {net: ms_to_torch_state(arrays, exp[net].torch_order) for net, arrays in ck.networks.items()}
    if not ck.training:
        return next(iter(states.values()))
    result = dict(states)
    for net, state in ck.optimizers.items():
        result[OPTIMIZER[net]] = _torch_adam(net, state, model, ck.config)
    if ck.epoch is not None:
        result[EPOCH] = int(ck.epoch)
    if ck.config is not None:
        result[CONFIG] = ck.config
    return result


def to_mindspore(ck, layout="project"):
    """{name: mindspore.Tensor, or str for config} in the project's MindSpore layout, or
    the MindSpore tutorial's names when layout is "tutorial"."""
    model = ck.model
    order = {net: list(expected(model)[net].shapes) for net in NETWORKS}
    if not ck.training:
        (net, arrays), = ck.networks.items()
        rename = _ms_names(net, layout)
        return {rename(n): ms.Tensor(np.array(arrays[n], copy=True)) for n in order[net]}
    result = {f"{net}.{n}": ms.Tensor(np.array(arrays[n], copy=True))
              for net, arrays in ck.networks.items() for n in order[net]}
    for net, state in ck.optimizers.items():
        prefix = OPTIMIZER[net]
        for kind, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
            result.update({f"{prefix}.{kind}.{n}": ms.Tensor(np.array(moments[n], copy=True))
                           for n in expected(model)[net].trainable})
        result[f"{prefix}.{STATE_STEP}"] = ms.Tensor(np.array([state.step], np.float32))
    if ck.epoch is not None:
        result[EPOCH] = ms.Tensor(np.int32(ck.epoch))
    if ck.config is not None:
        result[CONFIG] = json.dumps(ck.config)
    return result


def _save(obj, path, framework):
    if framework == TORCH:
        torch.save(obj, path)
        return
    tensors = [{"name": n, "data": v} for n, v in obj.items() if not isinstance(v, str)]
    strings = {n: v for n, v in obj.items() if isinstance(v, str)}
    ms.save_checkpoint(tensors, str(path), append_dict=strings or None)


def load_foreign_checkpoint(path, framework, model=None):
    """Any supported checkpoint (either framework, project, tutorial or training layout),
    converted in memory to what `framework`'s own loader returns for a project file:
    MINDSPORE: {name: mindspore.Parameter} as mindspore.load_checkpoint gives (config a str);
    TORCH: a state_dict, or the training dict, as torch.load gives."""
    ck = read_checkpoint(path, model)
    for note in ck.notes:
        if not note.startswith("warning:"):
            print(f"note: {path}: {note}")
    if framework in (TORCH, "pytorch"):
        return to_torch(ck)
    if framework != MINDSPORE:
        raise ValueError(f"unknown framework {framework!r}: use {MINDSPORE!r} or {TORCH!r}")
    return {n: v if isinstance(v, str) else ms.Parameter(v, name=n) for n, v in to_mindspore(ck).items()}


# ---------------------------------------------------------------- verification


def _load_native(path, model, twins):
    """Load a MindSpore or PyTorch file into the twins' models of its framework, the
    standard way (load_param_into_net / load_state_dict, nothing left out). Returns the
    networks it holds."""
    ck = read_checkpoint(path, model)
    pairs = {GENERATOR: twins.pairs()["G"], DISCRIMINATOR: twins.pairs()["D"]}
    if framework_of(path) == MINDSPORE:
        for net, arrays in ck.networks.items():   # MindSpore names as in the file, layout prefix aside
            params = {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in arrays.items()}
            not_loaded, _ = ms.load_param_into_net(pairs[net][0], params, strict_load=True)
            if not_loaded:
                raise ConversionError(f"{path}: parameters left unloaded: {not_loaded}")
    else:
        raw = load_torch_file(path)
        for net in ck.networks:
            pairs[net][1].load_state_dict(raw[net] if ck.training else raw)
    return tuple(ck.networks)


def verify_files(src, dst, model=None, batch=4, seed=0, notes=None):
    """Load SRC and DST into their frameworks' models and run the parity forward checks
    on seeded inputs; returns parity.report.Check rows for the networks the files hold.
    Dropout is off in train mode, as in the parity check (said in `notes`, when given).
    MindSpore runs on CPU: call mindspore.set_device("CPU") before MindSpore first runs
    (the command line does; MindSpore refuses to set it later)."""
    from parity.check import forward_checks
    from parity.twins import Twins, draw_inputs

    if framework_of(src) == framework_of(dst):
        raise ConversionError("--verify compares two frameworks: SRC and DST are both "
                              f"{framework_of(src)} files")
    model = model or read_checkpoint(src).model
    twins = Twins(model, seed, dropout_off=True)
    if twins.dropout_layers() and notes is not None:
        notes.append(f"--verify: dropout ({', '.join(twins.dropout_layers())}) off in train mode, as in "
                     f"the parity check: the frameworks' dropout masks cannot match")
    networks = _load_native(src, model, twins)
    _load_native(dst, model, twins)
    z, real = draw_inputs(twins.config, batch, seed)
    checks, _ = forward_checks(twins, z, real, notes)
    keep = tuple(f"{SHORT[n]} " for n in networks)
    return [c for c in checks if c.name.startswith(keep)]


# ---------------------------------------------------------------- conversion


def convert(src, dst, model=None, layout="project", verify=False, force=False, strict=False):
    """Convert SRC into DST (direction from the suffixes) and return a ConversionReport.
    `model` names the configs.MODELS entry; None finds the one model the file fits.
    DST is written atomically and only if every check (and `verify`, when asked) passes;
    an existing DST is kept unless `force`."""
    src, dst = Path(src), Path(dst)
    source, target = framework_of(src), framework_of(dst)
    if layout not in LAYOUTS:
        raise ConversionError(f"unknown layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    if dst.is_dir():
        raise ConversionError(f"{dst}: is a directory")
    if dst.exists() and not force:
        raise ConversionError(f"{dst}: exists; kept (use --force to overwrite)")
    if dst.resolve() == src.resolve():
        raise ConversionError(f"{dst}: is the source file")
    ck = read_checkpoint(src, model, strict)
    notes = list(ck.notes)
    if layout == "tutorial" and ck.training:
        raise ConversionError(f"{src}: --layout tutorial applies to one network's weights; "
                              f"the tutorials write no training checkpoints")
    if layout == "tutorial" and ck.model != "dcgan":
        raise ConversionError(f"{src}: --layout tutorial is the faces tutorials' DCGAN's; this is {ck.model}")
    if target == TORCH:
        obj = to_torch(ck)
        if layout == "tutorial":
            notes.append("pytorch/examples' dcgan uses the project's PyTorch names (main.<i>.<name>)")
        if ck.training and any(k not in (ck.config or {}) for k in ("lr", "beta1")):
            notes.append("Adam lr/betas not in the config: the tutorials' (lr 2e-4, betas (0.5, 0.999)) written")
    else:
        obj = to_mindspore(ck, layout)
        if ck.training and source == TORCH:
            notes.append("Adam hyperparameters (param_groups) are not part of the MindSpore layout: "
                         "only the config carries them")
    checks = None
    with atomic_path(dst) as tmp:
        _save(obj, tmp, target)
        if verify:
            checks = verify_files(src, tmp, ck.model, notes=notes)
            if not all(c.passed for c in checks):
                from parity.report import format_table
                raise ConversionError(f"{src} -> {dst}: verification FAILED, nothing written\n{format_table(checks)}")
    return ConversionReport(str(src), str(dst), source, target, ck.layout,
                            "training" if ck.training else layout, ck.model, tuple(ck.networks),
                            sum(1 for _ in _tensors(obj)), notes, checks)


def _tensors(obj):
    """Every tensor in a converted object (nested dicts included)."""
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, (torch.Tensor, ms.Tensor)):
        yield obj


FRAMEWORK_NAMES = {MINDSPORE: "MindSpore", TORCH: "PyTorch"}


def main(args):
    use_ms_device("CPU")   # before any MindSpore kernel runs: --verify builds the twins on it
    report = convert(args.src, args.dst, args.model, args.layout, args.verify, args.force, args.strict)
    print(f"converted {report.src} ({FRAMEWORK_NAMES[report.source]}, {report.layout_in} layout) -> "
          f"{report.dst} ({FRAMEWORK_NAMES[report.target]}, {report.layout_out} layout): "
          f"{report.model} {', '.join(report.networks)}, {report.tensors} tensors")
    for note in report.notes:
        print(f"note: {note}")
    if report.checks is not None:
        from parity.report import format_table
        print(format_table(report.checks))
    return 0 if report.passed else 1
