"""SRC into the framework-free form, by its suffix, with neither framework needed to read
the file (parity/common/layouts.py); here the file is checked to be there and its values
to be finite. The models' names and shapes come from whichever framework is installed."""
import importlib
import warnings
from pathlib import Path

from parity.common import layouts
from parity.common.checkpoints import MINDSPORE, TORCH, CheckpointError, framework_of, nonfinite

# The twins' checkpoint modules, either of which knows every model's names and shapes
# (they agree: tests/test_checkpoint_form.py); the first one that imports is used.
TWIN_CHECKPOINTS = {TORCH: "torch_gan.checkpoint", MINDSPORE: "ms_gan.checkpoint"}


def twin_checkpoint(framework=None):
    """The checkpoint module of `framework`'s twin, or of the first twin whose framework
    imports when None; an ImportError naming both when none does."""
    candidates = [framework] if framework else list(TWIN_CHECKPOINTS)
    errors = []
    for name in candidates:
        try:
            return importlib.import_module(TWIN_CHECKPOINTS[name])
        except ImportError as error:
            errors.append(f"{name}: {error}")
    raise ImportError(f"neither framework is installed ({'; '.join(errors)}): "
                      f"pip install mindspore or torch to know the models' shapes")


def expected(model):
    """{GENERATOR / DISCRIMINATOR: Expected} of `model`, built by an installed framework."""
    return twin_checkpoint().expected(model)


def read_checkpoint(path, model=None, strict=False):
    """Read any supported checkpoint into a Checkpoint, checking every name and shape
    against `model`, or against every model in MODELS when None (the one it fits is
    `.model`; more than one is an error). NaN/Inf values give a note (a warning), or an
    error when `strict`."""
    path = Path(path)
    framework_of(path)
    _check_file(path)
    ck = layouts.read_form(path, expected, model)
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
    if framework not in (MINDSPORE, TORCH):
        raise ValueError(f"unknown framework {framework!r}: use {MINDSPORE!r} or {TORCH!r}")
    ck = read_checkpoint(path, model)
    for note in ck.notes:
        if not note.startswith("warning:"):
            print(f"note: {path}: {note}")
    twin = twin_checkpoint(framework)
    if framework == TORCH:
        return twin.to_torch(ck)
    import mindspore as ms
    return {n: v if isinstance(v, str) else ms.Parameter(v, name=n) for n, v in twin.to_mindspore(ck).items()}
