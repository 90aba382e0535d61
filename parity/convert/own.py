"""`parity convert SRC DST --ms-model M:F --torch-model M:F`: a porter's own checkpoint,
converted through the two models it belongs to. SRC is loaded into its framework's model
the standard way (load_param_into_net / load_state_dict, nothing left out), copied into
the other through the rule table (parity/common/layer_rules.py, with --mapping for names
that differ) and written by that framework's own saver, atomically."""
from pathlib import Path

import mindspore as ms
import torch

from parity.common.checkpoints import MINDSPORE, CheckpointError, framework_of
from parity.common.files import atomic_path
from parity.pairing import copy_weights


def _load(path, framework, ms_model, torch_model):
    if framework == MINDSPORE:
        params = ms.load_checkpoint(str(path))
        not_loaded, unused = ms.load_param_into_net(ms_model, params, strict_load=True)
        if not_loaded or unused:
            raise CheckpointError(f"{path}: does not fit the MindSpore model: parameters left unloaded "
                                  f"{sorted(not_loaded)}, unused in the file {sorted(unused)}")
        return
    try:
        torch_model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except RuntimeError as error:
        raise CheckpointError(f"{path}: does not fit the PyTorch model: {str(error).splitlines()[0]} "
                              f"{' '.join(line.strip() for line in str(error).splitlines()[1:])}") from None


def convert_own(src, dst, ms_model, torch_model, mapping=None, force=False):
    """Convert SRC into DST (direction from the suffixes) through the two models; returns
    the number of tensors written."""
    src, dst = Path(src), Path(dst)
    source, target = framework_of(src), framework_of(dst)
    if source == target:
        raise CheckpointError(f"{src} -> {dst}: both are {source} files; convert goes from one framework to the other")
    if not src.is_file():
        raise CheckpointError(f"{src}: no such file")
    if dst.exists() and not force:
        raise CheckpointError(f"{dst}: exists; kept (use --force to overwrite)")
    _load(src, source, ms_model, torch_model)
    pairs = copy_weights(ms_model, torch_model, source, mapping)
    with atomic_path(dst) as tmp:
        if target == MINDSPORE:
            ms.save_checkpoint(ms_model, str(tmp))
        else:
            torch.save(torch_model.state_dict(), tmp)
    return sum(t is not None for t in pairs.values())
