"""Layout of the project's checkpoint files, shared by both trainers and the converter.

Weights-only files hold one network, under the model's own parameter names:
    MindSpore `.ckpt`: MindSpore names (`main.1.gamma`, `main.1.moving_mean`, ...)
    PyTorch `.pt`/`.pth`: a state_dict (`main.1.weight`, `main.1.running_mean`, ...)

Training checkpoints hold G, D, both Adam states, the epoch and the run's config:

    MindSpore `.ckpt` (mindspore.save_checkpoint of a list of {"name", "data"} entries):
        generator.<name>                  G's parameters and running statistics
        discriminator.<name>              D's
        optimizer_g.exp_avg.<name>        mindspore.mint.optim.Adam's first moment of G's <name>
        optimizer_g.exp_avg_sq.<name>     its second moment
        optimizer_g.state_step            its step count (one float32 scalar for all parameters)
        optimizer_d.*                     the same for D
        epoch                             int32 scalar: epochs completed
        config                            the run's config as a JSON string (append_dict)

    PyTorch `.pt` (torch.save of a dict, loadable with weights_only=True):
        {"generator": state_dict, "discriminator": state_dict,
         "optimizer_g": torch.optim.Adam state_dict, "optimizer_d": ...,
         "epoch": int, "config": dict}
    PyTorch's Adam state is keyed by parameter index, in the order of
    module.parameters(), which is the order of the trainable names of the MindSpore twin.
"""
from .configs import MODELS

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
OPTIMIZER = {GENERATOR: "optimizer_g", DISCRIMINATOR: "optimizer_d"}
EXP_AVG = "exp_avg"
EXP_AVG_SQ = "exp_avg_sq"
STATE_STEP = "state_step"
EPOCH = "epoch"
CONFIG = "config"

MINDSPORE_SUFFIXES = (".ckpt",)
TORCH_SUFFIXES = (".pt", ".pth")


def pick_model(path, what, fits, model=None):
    """The one model of `fits` (the models whose `what`, "the generator" say, has the file's
    names and shapes), or `model` if it is one of them; None when none fits. Several
    alike (cnn_gan's and sgan's generators are the same network) need --model, and a
    `model` that another model's network fits contradicts the file: each a ValueError."""
    if model is not None and model in fits:
        return model
    if model is not None and fits:
        raise ValueError(f"--model {model} contradicts {path}: {what} is {' or '.join(fits)}'s")
    if len(fits) > 1:
        raise ValueError(f"{path}: ambiguous: {what} fits {' and '.join(fits)} alike "
                         f"(the same names and shapes); give --model {'|'.join(fits)}")
    return fits[0] if fits else None


def config_model(path, config, model=None):
    """The model a training checkpoint's config names, or None; a `model` (--model) other
    than it is a ValueError naming both."""
    stored = (config or {}).get("model")
    if stored is not None and model is not None and model != stored:
        raise ValueError(f"--model {model} contradicts {path}: it is a {stored} checkpoint (its config); "
                         f"leave --model out")
    return stored


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

    entries: {name: shape} of the file's `part` (its own network for a weights-only file),
    under the file's framework's names; config: the training config it holds, or None;
    network_shapes(model, part) -> {name: shape} of that network in the same framework.
    `model` (--model) must agree with the file; any other case is a one-line ValueError."""
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
        raise ValueError(f"{path} holds the {other} of {' or '.join(others)}, not a {part}")
    closest = model or max(MODELS, key=lambda name: len(set(entries) & set(network_shapes(name, part))))
    raise ValueError(f"{path} holds no {part} of {model or 'any model'}; against {closest}'s: "
                     f"{_difference(entries, network_shapes(closest, part))}")
