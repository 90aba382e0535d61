"""One device vocabulary for every command of both frameworks (docs/framework_differences.md#devices):
cpu, gpu or ascend, in any case; cuda is another name for gpu. Each framework's
device.py maps a name to its own (MindSpore's CPU/GPU/Ascend, PyTorch's cpu/cuda) and
checks that the device is there."""

DEVICES = ("cpu", "gpu", "ascend")
ALIASES = {"cuda": "gpu"}
ALLOWED = "cpu, gpu (or cuda) or ascend, in any case"


def device_name(text):
    """The vocabulary's name of a --device value ('CPU' -> 'cpu', 'cuda' -> 'gpu'), or ValueError."""
    name = str(text).lower()
    name = ALIASES.get(name, name)
    if name not in DEVICES:
        raise ValueError(f"unknown device {text!r}; choose {ALLOWED}")
    return name
