"""Device selection for PyTorch: the project's device names (parity/common/devices.py)
to PyTorch's cpu or cuda."""
import torch

from parity.common.devices import DEVICES, device_name


def use_device(name):
    """The torch.device for `name` (the project's vocabulary; gpu:N or cuda:N for one of
    several GPUs), or an error naming what is missing."""
    base, _, index = str(name).partition(":")
    kind = device_name(base)
    if kind == "ascend":
        raise RuntimeError("the PyTorch twin runs on cpu or gpu (no torch_npu here). Use --device cpu.")
    if kind == "gpu" and not torch.cuda.is_available():
        raise RuntimeError(f"PyTorch {torch.__version__} sees no CUDA GPU on this machine "
                           f"(torch.cuda.is_available() is False). Use --device cpu.")
    return torch.device("cpu" if kind == "cpu" else f"cuda{':' + index if index else ''}")
