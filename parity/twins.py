"""The pair under test, and what every parity tool judges it by.

`Twins` is one model's generator and discriminator in both frameworks with bit-equal
weights; with them: the inputs the tools feed (`draw_inputs`, `draw_labels`), the
tolerances (`OUTPUT_TOL`, `GRAD_TOL`), the kink rule (`kink_crossings`) and the input
redraw it asks for (`redrawn`). `parity check`, `check --layers`, `convert --verify`,
`trajectory` and `parity.testing` use this one module.

Dropout takes its masks from the training step (docs/framework_differences.md#dropout),
and the tools call the networks outside one: the twins are built with dropout off unless
asked (`ms_gan.models.build(..., dropout=False)`), and the check says so in its notes.
"""
import mindspore as ms
import numpy as np
import torch

import ms_gan.models
import torch_gan.models
from ms_gan.device import use_device as use_ms_device
from ms_gan.init import layer_inventory, load_arrays as ms_load
from parity.common.configs import get_config
from parity.common.init_spec import draw_running_stats
from parity.common.inputs import draw_inputs, draw_labels  # noqa: F401 (this module's API)
from torch_gan.init import load_arrays as torch_load

from parity.report import GRAD_TOL, OUTPUT_TOL  # noqa: E402,F401 (the tolerances: parity/report.py)

# MindSpore device -> where the PyTorch twin runs (no torch_npu here: Ascend pairs with CPU).
TORCH_DEVICE_FOR = {"CPU": "cpu", "GPU": "cuda", "Ascend": "cpu"}

# Activations with a kink at 0. Where float32 rounding puts an input of one of these on
# opposite sides of 0 in the two frameworks, the gradients legitimately part (slope 1
# against 0.2 for one element): measured on dcgan, one such element moves G's gradients
# by 0.5-2% relative. The tools then redraw their inputs rather than compare there.
MS_KINKS = (ms.nn.ReLU, ms.nn.LeakyReLU)
TORCH_KINKS = (torch.nn.ReLU, torch.nn.LeakyReLU)
MAX_INPUT_DRAWS = 10


def to_numpy(x):
    """numpy of a MindSpore or PyTorch tensor (the first, of a tuple), or None."""
    x = x[0] if isinstance(x, (tuple, list)) else x
    if x is None:
        return None
    return x.asnumpy() if isinstance(x, ms.Tensor) else x.detach().cpu().numpy()


class Twins:
    """One model's generator and discriminator in both frameworks, with equal weights.

    With `dropout_off` (the parity mode) the dropout layers are off in train mode too:
    their masks come from the training step, and the tools call the networks outside one."""

    def __init__(self, model, seed, device="CPU", dropout_off=True):
        self.config = get_config(model)
        self.dropout_off = dropout_off
        self.ms_device = use_ms_device(device)
        self.torch_device = torch.device(TORCH_DEVICE_FOR[self.ms_device])
        self.ms_g, self.ms_d = ms_gan.models.build(model, seed=seed, dropout=not dropout_off)
        torch_g, torch_d = torch_gan.models.build(model, seed=seed, dropout=not dropout_off)
        self.torch_g, self.torch_d = torch_g.to(self.torch_device), torch_d.to(self.torch_device)

    def randomize_running_stats(self, seed):
        for offset, (ms_net, torch_net) in enumerate(self.pairs().values()):
            stats = draw_running_stats(layer_inventory(ms_net), seed + offset)
            ms_load(ms_net, stats)
            torch_load(torch_net, stats)

    def pairs(self):
        return {"G": (self.ms_g, self.torch_g), "D": (self.ms_d, self.torch_d)}

    def set_train(self, mode):
        for ms_net, torch_net in self.pairs().values():
            ms_net.set_train(mode)
            torch_net.train(mode)

    def dropout_layers(self):
        """["G name", "D name", ...] of the dropout layers (MindSpore's names)."""
        return [f"{net} {name}" for net, (ms_net, _) in self.pairs().items()
                for name, _ in ms_gan.models.dropout_layers(ms_net)]

    def ms_tensor(self, array):
        return ms.Tensor(array)

    def torch_tensor(self, array):
        return torch.from_numpy(array).to(self.torch_device)


def kink_crossings(ms_inputs, torch_inputs):
    """{layer: (count, largest |input|)} of the kinked activations' inputs that the two
    frameworks put on opposite sides of 0; the inputs are {layer: array} of each twin
    (layers of other names or shapes are not compared)."""
    crossings = {}
    for layer, a in ms_inputs.items():
        b = torch_inputs.get(layer)
        if b is None or a.shape != b.shape:
            continue
        crossed = (a > 0) != (b > 0)
        if crossed.any():
            size = max(float(np.abs(a[crossed]).max()), float(np.abs(b[crossed]).max()))
            crossings[layer] = (int(crossed.sum()), size)
    return crossings


def redrawn(twins, batch, seed, attempt, notes):
    """Run `attempt(z, real) -> (result, reason)` on the twins with non-trivial running
    statistics, on inputs drawn from `seed`, redrawing them while it gives a reason (float32
    rounding at a kink) and at most MAX_INPUT_DRAWS times; each reason goes to `notes`.
    Returns (result, z, real, draw) of the last attempt."""
    for draw in range(MAX_INPUT_DRAWS):
        twins.randomize_running_stats(seed + 2)
        z, real = draw_inputs(twins.config, batch, [seed + 4, draw])
        result, reason = attempt(z, real)
        if reason is None:
            break
        notes.append(f"input draw {draw}: {reason}: float32 rounding at a kink"
                     + (", inputs redrawn" if draw + 1 < MAX_INPUT_DRAWS else ""))
    return result, z, real, draw
