"""SRC into the framework-free form, by its suffix: each framework's twin reads its own
files (ms_gan/checkpoint.py, torch_gan/checkpoint.py); here the file is checked to be
there and its values to be finite."""
import warnings
from pathlib import Path

import mindspore as ms

import ms_gan.checkpoint
import torch_gan.checkpoint
from parity.common.checkpoints import MINDSPORE, TORCH, CheckpointError, framework_of, nonfinite

READERS = {MINDSPORE: ms_gan.checkpoint.read_form, TORCH: torch_gan.checkpoint.read_form}


def read_checkpoint(path, model=None, strict=False):
    """Read any supported checkpoint into a Checkpoint, checking every name and shape
    against `model`, or against every model in MODELS when None (the one it fits is
    `.model`; more than one is an error). NaN/Inf values give a note (a warning), or an
    error when `strict`."""
    path = Path(path)
    framework = framework_of(path)
    _check_file(path)
    ck = READERS[framework](path, model)
    bad = nonfinite(ck)
    if bad:
        message = f"{path}: NaN or Inf in {', '.join(bad)}"
        if strict:
            raise CheckpointError(message + " (refused: --strict)")
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        ck.notes.append("warning: " + message)
    return ck


def _check_file(path):
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: is empty")


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
        return torch_gan.checkpoint.to_torch(ck)
    if framework != MINDSPORE:
        raise ValueError(f"unknown framework {framework!r}: use {MINDSPORE!r} or {TORCH!r}")
    return {n: v if isinstance(v, str) else ms.Parameter(v, name=n)
            for n, v in ms_gan.checkpoint.to_mindspore(ck).items()}
