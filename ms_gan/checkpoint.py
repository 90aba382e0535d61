"""MindSpore's checkpoint format: `CheckpointFormat`, MindSpore's part of the checkpoint
files (the rest, written once for both twins: parity/common/formats.py). MindSpore itself
reads and writes its own files; a PyTorch file is read and written without torch
(parity/common/layouts.py: the tensors, never any code), as `parity convert` would: this
package never imports torch. Twin: torch_gan/checkpoint.py.
"""
import mindspore as ms
import numpy as np

import ms_gan.models
from ms_gan.init import load_arrays, state_arrays
from parity.common.checkpoints import AdamState, CheckpointError, Expected
from parity.common.formats import TwinFormat
from parity.common.frameworks import FRAMEWORKS, MINDSPORE


class CheckpointFormat(TwinFormat):
    """MindSpore's part of the checkpoint files (parity/common/formats.py says what each is)."""
    framework = FRAMEWORKS[MINDSPORE]
    build = staticmethod(ms_gan.models.build)
    load_arrays = staticmethod(load_arrays)
    state_arrays = staticmethod(state_arrays)

    @staticmethod
    def expected_of(net):
        params = list(net.parameters_and_names())   # names relative to `net`: TrainStep renames param.name
        return Expected({n: tuple(p.shape) for n, p in params}, tuple(n for n, p in params if p.requires_grad))

    def adam_state(self, path, key, net, optimizer):
        """A mint.optim.Adam's state as AdamState."""
        names = self.expected_of(net).trainable
        return AdamState({n: m.asnumpy() for n, m in zip(names, optimizer.exp_avg)},
                         {n: m.asnumpy() for n, m in zip(names, optimizer.exp_avg_sq)},
                         float(optimizer.state_step.asnumpy().reshape(-1)[0]))

    def load_adam(self, net, optimizer, state, config):
        names = self.expected_of(net).trainable
        for moments, values in ((optimizer.exp_avg, state.exp_avg), (optimizer.exp_avg_sq, state.exp_avg_sq)):
            for moment, name in zip(moments, names):
                moment.set_data(ms.Tensor(values[name]))
        optimizer.state_step.set_data(ms.Tensor(np.full(optimizer.state_step.shape, state.step, np.float32)))

    @staticmethod
    def read_own(path):
        """{name: numpy array or str} of mindspore.load_checkpoint; a file it cannot read is a
        one-line CheckpointError naming it."""
        try:
            params = ms.load_checkpoint(str(path))
        except Exception:     # MindSpore raises ValueError or RuntimeError, several lines long
            raise CheckpointError(f"{path} is not a MindSpore checkpoint (truncated or corrupt?)") from None
        return {k: v if isinstance(v, str) else v.asnumpy() for k, v in params.items()}

    @staticmethod
    def write_own(raw, path):
        """mindspore.save_checkpoint of {name: array, or str for config}."""
        tensors = [{"name": n, "data": ms.Tensor(v)} for n, v in raw.items() if not isinstance(v, str)]
        strings = {n: v for n, v in raw.items() if isinstance(v, str)}
        ms.save_checkpoint(tensors, str(path), append_dict=strings or None)
        return len(tensors)

    @staticmethod
    def native(raw):
        """{name: mindspore.Parameter, or str for config}, as mindspore.load_checkpoint gives."""
        return {n: v if isinstance(v, str) else ms.Parameter(ms.Tensor(v), name=n) for n, v in raw.items()}


FORMAT = CheckpointFormat()
