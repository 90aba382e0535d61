"""MindSpore checkpoint files, read into and written from the framework-free form
(parity/common/checkpoints.py): the one place their layouts are read and written.

Layouts read, and how they are told apart (first rule that matches):
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
Written: the project's layouts, or the tutorial's names for one network's weights.

A PyTorch file is converted by `python -m parity convert` in a subprocess
(parity.common.checkpoints.converted): this package never imports torch.
Twin: torch_gan/checkpoint.py.
"""
import json
from functools import lru_cache
from pathlib import Path

import mindspore as ms
import numpy as np

import ms_gan.models
from ms_gan.init import load_arrays, state_arrays
from parity.common.checkpoints import (CONFIG, DISCRIMINATOR, EPOCH, EXP_AVG, EXP_AVG_SQ, GENERATOR,
                                       MINDSPORE_SUFFIXES, NETWORKS, OPTIMIZER, STATE_STEP, TORCH_SUFFIXES,
                                       AdamState, Checkpoint, CheckpointError, Expected, converted, identify,
                                       match_model, network_model, nn_adam_step, require_training)
from parity.common.files import atomic_path

PROJECT_PREFIX = "main."
NN_ADAM_MOMENTS = {"moment1": EXP_AVG, "moment2": EXP_AVG_SQ}
NN_ADAM_POWERS = ("beta1_power", "beta2_power")
NN_ADAM_DROPPED = ("global_step", "learning_rate")


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


def read_checkpoint(path, model=None):
    """{name: Parameter or str} of a MindSpore file, or of a PyTorch one converted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    if path.suffix.lower() in TORCH_SUFFIXES:
        with converted(path, MINDSPORE_SUFFIXES[0], model) as copy:
            return load_ms_file(copy)
    return load_ms_file(path)


def _numpy(raw):
    return {k: v if isinstance(v, str) else v.asnumpy() for k, v in raw.items()}


def read_form(path, model=None):
    """The Checkpoint a MindSpore file (or a PyTorch one, converted) holds, every name and
    shape checked against `model`, or against every model when None (parity.common.
    checkpoints.match_model): what parity convert reads."""
    raw = _numpy(read_checkpoint(path, model))
    try:
        config = _config(path, raw)
    except CheckpointError:
        config = None      # the parse says what is wrong with it
    return match_model(path, lambda name: _parse(path, raw, name), list(raw), config, expected, model)


def to_mindspore(ck, layout="project"):
    """{name: mindspore.Tensor, or str for config} in the project's MindSpore layout, or
    the MindSpore tutorial's names when layout is "tutorial"."""
    exp = expected(ck.model)
    if not ck.training:
        (net, arrays), = ck.networks.items()
        rename = _tutorial_name(net) if layout == "tutorial" else (lambda name: name)
        return {rename(n): _tensor(arrays[n]) for n in exp[net].shapes}
    result = {f"{net}.{n}": _tensor(arrays[n]) for net, arrays in ck.networks.items() for n in exp[net].shapes}
    for net, state in ck.optimizers.items():
        for kind, moments in ((EXP_AVG, state.exp_avg), (EXP_AVG_SQ, state.exp_avg_sq)):
            result.update({f"{OPTIMIZER[net]}.{kind}.{n}": _tensor(moments[n]) for n in exp[net].trainable})
        result[f"{OPTIMIZER[net]}.{STATE_STEP}"] = ms.Tensor(np.array([state.step], np.float32))
    if ck.epoch is not None:
        result[EPOCH] = ms.Tensor(np.int32(ck.epoch))
    if ck.config is not None:
        result[CONFIG] = json.dumps(ck.config)
    return result


def write_form(ck, path, layout="project"):
    """Write a Checkpoint as a MindSpore file, atomically (parity.common.files.atomic_path,
    which also gives it the mode open() would); returns the number of tensors written."""
    entries = to_mindspore(ck, layout)
    tensors = [{"name": n, "data": v} for n, v in entries.items() if not isinstance(v, str)]
    strings = {n: v for n, v in entries.items() if isinstance(v, str)}
    with atomic_path(path) as tmp:
        ms.save_checkpoint(tensors, str(tmp), append_dict=strings or None)
    return len(tensors)


def _tensor(array):
    return ms.Tensor(np.array(array, copy=True))


def _tutorial_name(net):
    """The project's name -> the tutorial's: `<net>.<i>.` for `main.<i>.`."""
    return lambda name: f"{net}.{name[len(PROJECT_PREFIX):]}"


# ---------------------------------------------------------------- the layouts


def _is_training(names):
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


def _config(path, raw):
    """The run's config a training checkpoint holds (a dict), or None."""
    if CONFIG not in raw:
        return None
    try:
        config = json.loads(raw[CONFIG])
    except (TypeError, ValueError):
        config = None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: config is not a JSON string")
    return config


def _parse(path, raw, model):
    """`raw` ({name: array or str}) read as a checkpoint of `model`, unchecked."""
    if _is_training(raw):
        return _training(path, raw)
    net, arrays, layout = _weights(path, raw)
    return Checkpoint({net or identify(path, arrays, expected(model), model): arrays}, layout=layout)


def _weights(path, raw):
    """(the network, or None when the file does not say, its arrays under the project's
    names, the layout) of a weights-only file."""
    net = _tutorial_network(list(raw))
    if net is not None:
        return net, {PROJECT_PREFIX + n[len(net) + 1:]: v for n, v in raw.items()}, "tutorial"
    strings = [k for k, v in raw.items() if isinstance(v, str)]
    if strings:
        raise CheckpointError(f"{path}: unexpected string entries: {strings}")
    return None, raw, "project"


def _training(path, raw):
    ck = Checkpoint({GENERATOR: {}, DISCRIMINATOR: {}}, training=True, layout="training", config=_config(path, raw))
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
    raw = _numpy(read_checkpoint(path, model))
    if _is_training(raw):
        ck = _training(path, raw)
        arrays, config = ck.networks[part], ck.config
    else:
        arrays, config = _weights(path, raw)[1], None
    model = network_model(path, part, arrays, config, expected, model)
    net = ms_gan.models.build(model)[part == DISCRIMINATOR]
    load_arrays(net, arrays)
    return model, net


def stored_config(path):
    """The run's config in a training checkpoint, or None."""
    return _config(path, read_checkpoint(path))
