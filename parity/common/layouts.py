"""The project's checkpoint layouts in both frameworks' files, read into and written from the
framework-free form (checkpoints.py), with neither framework imported: the bytes are read
and written by mindspore_files.py and torch_files.py (docs/cross_machine.md#checkpoint-files).
Each twin reads its own framework's files with the framework and hands the result here;
a file of the other framework, and every file of `parity convert`, is read and written here
alone, so a machine with one framework reads and writes both.

A file is read here without knowing its model (`LAYOUTS[framework].parse`), and
checkpoints.identify finds it; writing takes the model's {GENERATOR / DISCRIMINATOR:
Expected}, from either twin: both build the same names and shapes
(tests/checkpoints/test_checkpoint_form.py).

MindSpore layouts (first rule that matches):
    any name `epoch`, `config`, `optimizer_*.`, or `generator.<layer>.` or
        `discriminator.<layer>.` (`generator.main.0.weight`): the project's training
        checkpoint. Its Adam state is mint.optim.Adam's (`exp_avg.*`, `exp_avg_sq.*`,
        `state_step`) or nn.Adam's: `moment1.*`/`moment2.*` are the same moments, and the
        step count is recovered from `beta1_power`/`beta2_power`.
    every name `generator.<i>.` or every name `discriminator.<i>.` (an index, not
        `main.`): the MindSpore faces tutorial's generator.ckpt / discriminator.ckpt,
        whose SequentialCell is *called* generator/discriminator
    otherwise: one network under the model's names (dcgan: `main.<i>.<name>`), whichever
        of the model's generator and discriminator has the same names and shapes
PyTorch layouts (a torch.load'ed object, tensors as numpy arrays):
    a dict with "generator"/"discriminator"/"optimizer_*" entries: the project's training
        checkpoint, with torch.optim.Adam's state
    otherwise a state_dict: one network under the model's names (dcgan: `main.<i>.<name>`,
        the names of pytorch/examples' dcgan and the PyTorch faces tutorial, so their
        `netG`/`netD` files are this layout too)
PyTorch names are mapped to MindSpore's by names.py. `num_batches_tracked` has no MindSpore
twin: it is dropped on reading and written as 0 (BatchNorm reads it only when momentum is
None, which no model sets).
"""
import json
import pickle
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import mindspore_files, torch_files
from .checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, EXP_AVG, EXP_AVG_SQ, GENERATOR, MINDSPORE, NETWORKS,
                          OPTIMIZER, STATE_STEP, TORCH, AdamState, Checkpoint, CheckpointError, adam_hyper,
                          nn_adam_step)
from .names import NUM_BATCHES_TRACKED, ms_to_torch_names, torch_to_ms_names

PROJECT_PREFIX = "main."
NN_ADAM_MOMENTS = {"moment1": EXP_AVG, "moment2": EXP_AVG_SQ}
NN_ADAM_POWERS = ("beta1_power", "beta2_power")
NN_ADAM_DROPPED = ("global_step", "learning_rate")
# torch.optim.Adam(...).state_dict()["param_groups"][0] of torch 2.14.1, but the values
# the run's config gives; torch.optim.Adam.load_state_dict takes it in any version.
TORCH_ADAM_GROUP = {"weight_decay": 0, "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                    "differentiable": False, "fused": None, "decoupled_weight_decay": False}


# ---------------------------------------------------------------- MindSpore layouts


def ms_is_training(names):
    """Any name `epoch`, `config`, `optimizer_*.` or `generator.`/`discriminator.` followed
    by a layer's name (not the tutorial's index)."""
    return any(n in (EPOCH, CONFIG) or n.startswith(tuple(f"{o}." for o in OPTIMIZER.values()))
               or (n.partition(".")[0] in NETWORKS and not n.split(".")[1].isdigit())
               for n in names)


def _ms_tutorial_network(names):
    """GENERATOR or DISCRIMINATOR when every name is `<that>.<index>.`, else None."""
    for net in NETWORKS:
        if names and all(n.startswith(f"{net}.") and n.split(".")[1].isdigit() for n in names):
            return net
    return None


def ms_config(path, raw):
    """The run's config a MindSpore training checkpoint holds (a dict), or None."""
    if CONFIG not in raw:
        return None
    try:
        config = json.loads(raw[CONFIG])
    except (TypeError, ValueError):
        config = None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: config is not a JSON string")
    return config


def ms_parse(path, raw):
    """A MindSpore file's entries `raw` ({name: array or str}) as a Checkpoint whose model
    is not yet known (checkpoints.identify): a weights-only file's network under None
    unless the tutorial's names say which."""
    if ms_is_training(raw):
        return _ms_training(path, raw)
    net, arrays, layout = _ms_weights(path, raw)
    return Checkpoint({net: arrays}, layout=layout)


def _ms_weights(path, raw):
    """(the network, or None when the file does not say, its arrays under the project's
    names, the layout) of a weights-only file."""
    net = _ms_tutorial_network(list(raw))
    if net is not None:
        return net, {PROJECT_PREFIX + n[len(net) + 1:]: v for n, v in raw.items()}, "tutorial"
    strings = [k for k, v in raw.items() if isinstance(v, str)]
    if strings:
        raise CheckpointError(f"{path}: unexpected string entries: {strings}")
    return None, raw, "project"


def _ms_training(path, raw):
    ck = Checkpoint({GENERATOR: {}, DISCRIMINATOR: {}}, training=True, layout="training",
                    config=ms_config(path, raw))
    optimizer_net = {v: k for k, v in OPTIMIZER.items()}
    moments = {net: {EXP_AVG: {}, EXP_AVG_SQ: {}} for net in NETWORKS}
    steps, powers, unexpected = {}, {net: {} for net in NETWORKS}, []
    for key, value in raw.items():
        head, _, rest = key.partition(".")
        kind, _, name = rest.partition(".")
        net = optimizer_net.get(head)
        if key == EPOCH:
            ck.epoch = int(np.asarray(value).reshape(()))
        elif key == CONFIG:
            pass
        elif head in NETWORKS:
            ck.networks[head][rest] = value
        elif net is None:
            unexpected.append(key)
        elif rest == STATE_STEP:
            steps[net] = value
        elif kind in (EXP_AVG, EXP_AVG_SQ) and name:
            moments[net][kind][name] = value
        elif kind in NN_ADAM_MOMENTS and name:
            moments[net][NN_ADAM_MOMENTS[kind]][name] = value
        elif rest in NN_ADAM_POWERS:
            powers[net][rest] = value
        elif rest not in NN_ADAM_DROPPED:
            unexpected.append(key)
    if unexpected:
        raise CheckpointError(f"{path}: unexpected keys in a training checkpoint: {', '.join(sorted(unexpected))}")
    for net in NETWORKS:
        if not any(moments[net].values()) and net not in steps and not powers[net]:
            ck.notes.append(f"no {OPTIMIZER[net]} state in the file")
            continue
        if net in steps:
            step = float(np.asarray(steps[net]).reshape(-1)[0])
        elif len(powers[net]) == 2:
            step = nn_adam_step(path, net, powers[net], ck.config)
            ck.notes.append(f"{OPTIMIZER[net]}: nn.Adam state read as Adam moments; step {step:g} recovered "
                            f"from beta1_power/beta2_power (nn.Adam places epsilon differently: "
                            f"docs/framework_differences.md#adam-epsilon)")
        else:
            raise CheckpointError(f"{path}: {OPTIMIZER[net]} has moments but no {STATE_STEP} "
                                  f"(nor nn.Adam's beta1_power and beta2_power)")
        ck.optimizers[net] = AdamState(moments[net][EXP_AVG], moments[net][EXP_AVG_SQ], step)
    return ck


def ms_entries(ck, expected, layout="project"):
    """{name: numpy array, or str for config} in the project's MindSpore layout, or the
    MindSpore tutorial's names when layout is "tutorial"; in the order MindSpore saves them.
    expected: {GENERATOR / DISCRIMINATOR: Expected} of the checkpoint's model."""
    exp = expected
    if not ck.training:
        (net, arrays), = ck.networks.items()
        rename = (lambda name: f"{net}.{name[len(PROJECT_PREFIX):]}") if layout == "tutorial" else (lambda name: name)
        return {rename(n): _copy(arrays[n]) for n in in_framework_order(exp[net], MINDSPORE)}
    result = {f"{net}.{n}": _copy(arrays[n]) for net, arrays in ck.networks.items()
              for n in in_framework_order(exp[net], MINDSPORE)}
    for net, state in ck.optimizers.items():
        for kind, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
            result.update({f"{OPTIMIZER[net]}.{kind}.{n}": _copy(moments[n]) for n in exp[net].trainable})
        result[f"{OPTIMIZER[net]}.{STATE_STEP}"] = np.array([state.step], np.float32)
    if ck.epoch is not None:
        result[EPOCH] = np.array(ck.epoch, np.int32)
    if ck.config is not None:
        result[CONFIG] = json.dumps(ck.config)
    return result


def in_framework_order(expected, framework):
    """The names of a network (`expected`: its Expected) in the order `framework` saves
    them, whichever framework built `expected`: layer by layer, a layer's running
    statistics (its names not trainable) before its parameters in MindSpore (BatchNorm
    registers them first), after them in PyTorch (buffers follow parameters)."""
    trainable = set(expected.trainable)
    layers = {}
    for name in expected.shapes:
        layers.setdefault(name.rpartition(".")[0], []).append(name)
    first = (lambda n: n in trainable) if framework == MINDSPORE else (lambda n: n not in trainable)
    return [n for names in layers.values() for n in sorted(names, key=first)]


def _copy(array):
    return np.array(array, copy=True)


# ---------------------------------------------------------------- PyTorch layouts


def torch_is_training(raw):
    return isinstance(raw, dict) and (GENERATOR in raw or DISCRIMINATOR in raw)


def torch_arrays(path, state, notes):
    """A state_dict's {MindSpore name: array}; a note when num_batches_tracked is dropped."""
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state_dict of tensors")
    arrays = {ms_name: state[name] for name, ms_name in torch_to_ms_names(state).items() if ms_name}
    if len(arrays) < len(state) and not any(NUM_BATCHES_TRACKED in n for n in notes):
        notes.append(f"{NUM_BATCHES_TRACKED} dropped: MindSpore's BatchNorm has no such parameter")
    return arrays


def torch_adam_state(path, net, state_dict):
    """A torch.optim.Adam state_dict (tensors as arrays) as AdamState under PyTorch's
    parameter indices, `order` its param_groups' (checkpoints.identify names them)."""
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
        raise CheckpointError(f"{path}: {OPTIMIZER[net]} is not a torch.optim.Adam state_dict")
    exp_avg, exp_avg_sq, steps = {}, {}, set()
    try:
        order = tuple(i for group in state_dict["param_groups"] for i in group["params"])
        for index, entry in state_dict["state"].items():
            if index not in order:
                raise KeyError(index)
            exp_avg[index], exp_avg_sq[index] = entry["exp_avg"], entry["exp_avg_sq"]
            if exp_avg_sq[index].any():
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
    return AdamState(exp_avg, exp_avg_sq, steps.pop() if steps else 0.0, order)


def torch_adam_dict(expected, state, config):
    """A torch.optim.Adam state_dict (arrays for tensors) for the network `expected`
    describes, hyperparameters from the run's config or the tutorials' defaults."""
    group = {"lr": adam_hyper(config, "lr"), "betas": (adam_hyper(config, "beta1"), adam_hyper(config, "beta2")),
             "eps": adam_hyper(config, "eps"), **TORCH_ADAM_GROUP, "params": list(range(len(expected.trainable)))}
    return {"state": {i: {"step": np.array(state.step, np.float32),
                          "exp_avg": _copy(state.exp_avg[name]), "exp_avg_sq": _copy(state.exp_avg_sq[name])}
                      for i, name in enumerate(expected.trainable)},
            "param_groups": [group]}


def _torch_training(path, raw):
    """A training dict's networks, epoch and config (its Adam states need the model)."""
    known = {GENERATOR, DISCRIMINATOR, *OPTIMIZER.values(), EPOCH, CONFIG}
    if set(raw) - known:
        raise CheckpointError(f"{path}: unexpected keys in a training checkpoint: {sorted(set(raw) - known)}")
    missing = sorted({GENERATOR, DISCRIMINATOR} - set(raw))
    if missing:
        raise CheckpointError(f"{path}: missing keys in a training checkpoint: {missing}")
    notes = []
    return Checkpoint({net: torch_arrays(path, raw[net], notes) for net in NETWORKS}, training=True,
                      epoch=raw.get(EPOCH), config=raw.get(CONFIG), layout="training", notes=notes)


def torch_parse(path, raw):
    """What torch.load gave for a PyTorch file (`raw`, tensors as numpy arrays) as a
    Checkpoint whose model is not yet known (checkpoints.identify): a state_dict's network
    under None, the Adam states under parameter indices."""
    if torch_is_training(raw):
        ck = _torch_training(path, raw)
        ck.optimizers = {net: torch_adam_state(path, net, raw[OPTIMIZER[net]]) for net in NETWORKS
                         if OPTIMIZER[net] in raw}
        return ck
    notes = []
    return Checkpoint({None: torch_arrays(path, raw, notes)}, notes=notes)


def torch_config(path, raw):
    """The run's config a PyTorch training checkpoint holds, or None."""
    return raw.get(CONFIG) if isinstance(raw, dict) else None


def ms_to_torch_state(arrays, order=None):
    """{MindSpore name: array} -> PyTorch state_dict of arrays, with `num_batches_tracked`
    made up (0) for every BatchNorm layer; in `order` (a state_dict's names) when given."""
    state = {}
    for ms_name, name in ms_to_torch_names(arrays).items():
        state[name] = _copy(arrays[ms_name])
        layer, _, leaf = name.rpartition(".")
        if leaf == "running_var":
            state[f"{layer}.{NUM_BATCHES_TRACKED}"] = np.array(0, np.int64)
    if order:
        state = {name: state[name] for name in order if name in state} | state
    return state


def torch_to_ms_state(state):
    """PyTorch state_dict (arrays) -> {MindSpore name: numpy array}; `num_batches_tracked` is dropped."""
    return torch_arrays("state_dict", state, [])


def torch_tree(ck, expected, layout="project"):
    """What torch.load would return for this checkpoint in the project's PyTorch layout (the
    same names as pytorch/examples' dcgan, so `layout` "tutorial" is the same), with numpy
    arrays for tensors. expected:
    {GENERATOR / DISCRIMINATOR: Expected} of the checkpoint's model."""
    exp = expected
    # In the order of the model's state_dict; num_batches_tracked follows running_var.
    states = {net: ms_to_torch_state({n: arrays[n] for n in in_framework_order(exp[net], TORCH)})
              for net, arrays in ck.networks.items()}
    if not ck.training:
        return next(iter(states.values()))
    result = dict(states)
    for net, state in ck.optimizers.items():
        result[OPTIMIZER[net]] = torch_adam_dict(exp[net], state, ck.config)
    if ck.epoch is not None:
        result[EPOCH] = int(ck.epoch)
    if ck.config is not None:
        result[CONFIG] = ck.config
    return result


def count_arrays(obj):
    """The number of arrays in a nested dict/list."""
    if isinstance(obj, dict):
        return sum(count_arrays(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(count_arrays(v) for v in obj)
    return int(isinstance(obj, np.ndarray))


# ---------------------------------------------------------------- either framework's files


def read_ms_file(path):
    """{name: array or str} of a MindSpore file; a file that is none is a one-line CheckpointError."""
    try:
        return mindspore_files.read(path)
    except (mindspore_files.FormatError, ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is not a MindSpore checkpoint (truncated or corrupt?)") from None


def read_torch_file(path):
    """What torch.load(weights_only=True) gives for `path`, tensors as numpy arrays; a pickle
    that carries code is refused before any of it runs, a file that is no PyTorch
    checkpoint is a one-line CheckpointError naming it."""
    try:
        return torch_files.read(path)
    except torch_files.UnsafePickle as error:
        raise CheckpointError(f"{path}: refused: the pickle carries code or objects other than tensors "
                              f"({error}); it is only ever loaded with torch.load(weights_only=True). "
                              f"Save a state_dict instead.") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, KeyError, TypeError, OSError):
        raise CheckpointError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None


def write_torch_file(tree, path):
    """Write what torch.load should give back as torch.save would; returns the number of tensors."""
    torch_files.write(tree, path)
    return count_arrays(tree)


@dataclass(frozen=True)
class Layout:
    """One framework's files, read and written here without the framework."""
    read_file: Callable     # read_file(path) -> raw: what the framework's loader gives, numpy arrays for tensors
    parse: Callable         # parse(path, raw) -> Checkpoint, its model not yet known (checkpoints.identify)
    config: Callable        # config(path, raw) -> the run's config a training checkpoint holds, or None
    unparse: Callable       # unparse(ck, expected, layout) -> raw, `expected` the model's {network: Expected}
    write_file: Callable    # write_file(raw, path) -> the number of tensors written


LAYOUTS = {MINDSPORE: Layout(read_ms_file, ms_parse, ms_config, ms_entries, mindspore_files.write),
           TORCH: Layout(read_torch_file, torch_parse, torch_config, torch_tree, write_torch_file)}
