"""PyTorch's checkpoint format: `CheckpointFormat`, PyTorch's part of the checkpoint files
(the rest, written once for both twins: parity/common/formats.py). torch itself reads and
writes its own files, only ever loading with weights_only=True; a MindSpore file is read
and written without mindspore (parity/common/layouts.py), as `parity convert` would: this
package never imports mindspore. Twin: ms_gan/checkpoint.py.
"""
import pickle
import warnings

import numpy as np
import torch

import torch_gan.models
from parity.common import layouts
from parity.common.checkpoints import CheckpointError, Expected, name_adam
from parity.common.formats import TwinFormat
from parity.common.frameworks import FRAMEWORKS, TORCH
from parity.common.names import torch_to_ms_names
from torch_gan.init import load_arrays, state_arrays


def to_arrays(obj):
    """A torch.load'ed object with numpy arrays for its tensors (copies)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return type(obj)((k, to_arrays(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_arrays(v) for v in obj)
    return obj


def to_tensors(obj):
    """The reverse of to_arrays: numpy arrays as torch tensors of their own memory."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.array(obj, copy=True))
    if isinstance(obj, dict):
        return type(obj)((k, to_tensors(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_tensors(v) for v in obj)
    return obj


class CheckpointFormat(TwinFormat):
    """PyTorch's part of the checkpoint files (parity/common/formats.py says what each is)."""
    framework = FRAMEWORKS[TORCH]
    build = staticmethod(torch_gan.models.build)
    load_arrays = staticmethod(load_arrays)
    state_arrays = staticmethod(state_arrays)

    @staticmethod
    def expected_of(module):
        """Its Expected, `shapes` in the order of its state_dict."""
        state = module.state_dict()
        ms_name = torch_to_ms_names(state)
        return Expected({ms_name[n]: tuple(t.shape) for n, t in state.items() if ms_name[n] is not None},
                        tuple(ms_name[n] for n, _ in module.named_parameters()))

    def adam_state(self, path, key, net, optimizer):
        """A torch.optim.Adam's state as AdamState."""
        return name_adam(layouts.torch_adam_state(path, key, to_arrays(optimizer.state_dict())), self.expected_of(net))

    def load_adam(self, net, optimizer, state, config):
        optimizer.load_state_dict(to_tensors(layouts.torch_adam_dict(self.expected_of(net), state, config)))

    @staticmethod
    def read_own(path):
        """torch.load of `path`, only ever with weights_only=True, tensors as numpy arrays; a
        file it cannot read is a one-line CheckpointError naming it: a pickle that carries code
        (weights_only refuses any global: a class or function to call), or a file that is not
        a PyTorch checkpoint."""
        try:
            with warnings.catch_warnings():     # junk read as a pickle warns of its "protocol"
                warnings.simplefilter("ignore")
                return to_arrays(torch.load(path, map_location="cpu", weights_only=True))
        except pickle.UnpicklingError as error:
            detail = next((line for line in str(error).splitlines() if "global" in line.lower()), None)
            if detail:
                raise CheckpointError(f"{path}: refused: the pickle carries code or objects other than tensors "
                                      f"({detail.strip()}); it is only ever loaded with torch.load(weights_only=True). "
                                      f"Save a state_dict instead.") from None
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None
        except Exception:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (truncated or corrupt?)") from None

    @staticmethod
    def write_own(raw, path):
        """torch.save of what torch.load should give back (numpy arrays for tensors)."""
        torch.save(to_tensors(raw), path)
        return layouts.count_arrays(raw)

    @staticmethod
    def native(raw):
        """`raw` with torch tensors, as torch.load gives."""
        return to_tensors(raw)


FORMAT = CheckpointFormat()
