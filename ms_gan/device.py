"""Device selection for MindSpore: CPU, GPU or Ascend."""
import mindspore as ms

DEVICES = ("CPU", "GPU", "Ascend")


def use_device(name):
    """Make `name` MindSpore's device for this process, or fail naming what is missing."""
    target = {d.lower(): d for d in DEVICES}.get(str(name).lower())
    if target is None:
        raise ValueError(f"unknown MindSpore device {name!r}; choose one of {', '.join(DEVICES)}")
    if target != "CPU" and not ms.hal.is_available(target):
        raise RuntimeError(
            f"MindSpore {ms.__version__} cannot use {target} on this machine: "
            f"{'no CUDA GPU or no GPU build of MindSpore' if target == 'GPU' else 'no Ascend NPU or CANN toolkit'} "
            f"was found (mindspore.hal.is_available({target!r}) is False). Use --device CPU.")
    ms.set_device(target)
    return target
