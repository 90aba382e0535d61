"""SRC into the framework-free form, through a twin's CheckpointFormat (parity/common/
formats.py), which reads either framework's file with one framework installed; here the
file is checked to be there and its values to be finite."""
import importlib
import warnings
from pathlib import Path

from parity.common.checkpoints import CheckpointError, framework_of, nonfinite
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, TORCH

# Either twin knows every model's names and shapes (they agree: tests/checkpoints/test_checkpoint_form.py);
# the first whose framework imports is used.
PREFERENCE = (TORCH, MINDSPORE)


def twin_format(framework=None):
    """The CheckpointFormat of `framework`'s twin, or of the first twin whose framework
    imports when None; an ImportError naming both when none does."""
    errors = []
    for key in [framework] if framework else PREFERENCE:
        try:
            return importlib.import_module(f"{FRAMEWORKS[key].package}.checkpoint").FORMAT
        except ImportError as error:
            errors.append(f"{key}: {error}")
    raise ImportError(f"neither framework is installed ({'; '.join(errors)}): "
                      f"pip install mindspore or torch to know the models' shapes")


def read_checkpoint(path, model=None, strict=False):
    """Read any supported checkpoint into a Checkpoint, checking every name and shape
    against `model`, or against every model in MODELS when None (the one it fits is
    `.model`; more than one is an error). NaN/Inf values give a note (a warning), or an
    error when `strict`."""
    path = Path(path)
    framework_of(path)
    _check_file(path)
    ck = twin_format().read(path, model)
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
    TORCH: a state_dict, or the training dict, as torch.load gives. Needs that framework only."""
    if framework == "pytorch":
        framework = TORCH
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: use {MINDSPORE!r} or {TORCH!r}")
    ck = read_checkpoint(path, model)
    for note in ck.notes:
        if not note.startswith("warning:"):
            print(f"note: {path}: {note}")
    return twin_format(framework).to_native(ck)
