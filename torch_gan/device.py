"""Device selection for PyTorch: cpu or cuda."""
import torch

DEVICES = ("cpu", "cuda")


def use_device(name):
    """The torch.device for `name`, or an error naming what is missing."""
    target = str(name).lower()
    if target.split(":")[0] not in DEVICES:
        raise ValueError(f"unknown PyTorch device {name!r}; choose one of {', '.join(DEVICES)}")
    if target.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"PyTorch {torch.__version__} sees no CUDA GPU on this machine "
                           f"(torch.cuda.is_available() is False). Use --device cpu.")
    return torch.device(target)
