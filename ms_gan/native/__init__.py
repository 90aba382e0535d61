"""Native CPU convolutions for MindSpore (docs/native.md): convolution.cpp, built on first use
with g++ into a cache folder and linked against the oneDNN library MindSpore ships.

`library()` is the built library's path, or None where the native kernels are off: the
environment variable MS_GAN_NATIVE=0, a device other than CPU, no C++ compiler, no
mindspore/lib/libdnnl.so.2, or a oneDNN version or runtime convolution.cpp was not written
for. Then ms_gan's layers run MindSpore's own ops, and the process is told why once, in one
line on stderr.
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mindspore as ms

SOURCE = Path(__file__).with_name("convolution.cpp")
SWITCH = "MS_GAN_NATIVE"
_state = {}


def dnnl_library():
    """MindSpore's own oneDNN (mindspore/lib/libdnnl.so.2), or None."""
    path = Path(ms.__file__).parent / "lib" / "libdnnl.so.2"
    return path if path.is_file() else None


def cache_folder():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ms_torch_gan" / "native"


def compiler():
    """The C++ compiler: $CXX, else g++, as found on PATH; None if there is none."""
    return shutil.which(os.environ.get("CXX") or "g++")


def build(cxx, dnnl):
    """The built library for this source, MindSpore and oneDNN, compiled once into the cache
    (keyed by their hash); atomic, so two processes building at once both end with a whole file."""
    key = hashlib.sha256(SOURCE.read_bytes() + f"{ms.__version__}|{dnnl}|{cxx}".encode()).hexdigest()[:16]
    target = cache_folder() / f"ms_gan_native_{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = [cxx, "-O2", "-std=c++17", "-shared", "-fPIC", str(SOURCE), "-o", str(built),
                   f"-L{dnnl.parent}", f"-l:{dnnl.name}", f"-Wl,-rpath,{dnnl.parent}", "-pthread"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{cxx} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
        os.replace(built, target)
    return target


def checked(path):
    """None if the library loads and its oneDNN is one it was written for; else why not."""
    lib = ctypes.CDLL(str(path))
    version = [ctypes.c_int() for _ in range(3)]
    code = lib.ms_gan_native_check(*[ctypes.byref(v) for v in version])
    found = ".".join(str(v.value) for v in version)
    return {0: None, 1: f"oneDNN {found} is not 2.2 to 2.x", 2: f"oneDNN {found} is not a THREADPOOL build",
            3: "oneDNN could not make a CPU engine and stream"}.get(code, f"check code {code}")


def why_off():
    """Why the native kernels are off in this process, or None when they are on."""
    if os.environ.get(SWITCH, "1") == "0":
        return f"{SWITCH}=0"
    device = ms.get_context("device_target")
    if device != "CPU":
        return f"the device is {device}"
    dnnl = dnnl_library()
    if dnnl is None:
        return f"MindSpore {ms.__version__} ships no lib/libdnnl.so.2"
    cxx = compiler()
    if cxx is None:
        return f"no C++ compiler ({os.environ.get('CXX') or 'g++'} not found)"
    try:
        path = build(cxx, dnnl)
        reason = checked(path)
    except (OSError, RuntimeError) as error:
        return str(error).splitlines()[0]
    if reason is None:
        _state["library"] = path
    return reason


def library():
    """The native library's path, or None (and one line on stderr, once, saying why)."""
    if "off" not in _state:
        _state["off"] = why_off()
        if _state["off"] is not None:
            print(f"ms_gan: native CPU convolutions off ({_state['off']}); MindSpore's own run",
                  file=sys.stderr)
    return _state.get("library")
