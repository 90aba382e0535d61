"""The framework-free form into DST, by its suffix, through a twin's CheckpointFormat
(parity/common/formats.py), which writes either framework's file with one installed."""
from parity.common.frameworks import MINDSPORE, TORCH

from .read import twin_format


def write_checkpoint(ck, path, layout="project"):
    """Write `ck` in the framework of `path`'s suffix, atomically; returns the number of tensors written."""
    return twin_format().write(ck, path, layout)


def writing_notes(ck, source, target, layout):
    """What a reader of the written file should know that the file cannot say."""
    notes = []
    if target == TORCH and layout == "tutorial":
        notes.append("pytorch/examples' dcgan uses the project's PyTorch names (main.<i>.<name>)")
    if target == TORCH and ck.training and any(k not in (ck.config or {}) for k in ("lr", "beta1")):
        notes.append("Adam lr/betas not in the config: the tutorials' (lr 2e-4, betas (0.5, 0.999)) written")
    if target == MINDSPORE and ck.training and source == TORCH:
        notes.append("Adam hyperparameters (param_groups) are not part of the MindSpore layout: "
                     "only the config carries them")
    return notes
