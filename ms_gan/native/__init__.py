"""Native CPU kernels for MindSpore (docs/native.md): the C++ sources of this folder
(convolutions, Dense, BatchNorm, Adam), built on first use with g++ into a cache folder and linked against the
oneDNN library MindSpore ships.

`library()` is the built library's path, or None where the native kernels are off: the
environment variable MS_GAN_NATIVE=0, a device other than CPU, no C++ compiler, no
mindspore/lib/libdnnl.so.2, or a oneDNN version or runtime the sources were not written
for. Then ms_gan's layers and optimizer run MindSpore's own ops, and the process is told why
once, in one line on stderr.
"""
import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mindspore as ms

SOURCES = sorted(Path(__file__).parent.glob("*.cpp"))
HEADERS = sorted(Path(__file__).parent.glob("*.h"))
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


# -ffp-contract=off: Adam's arithmetic rounds after every operation, as MindSpore's does.
# -O3 -fno-trapping-math -fno-math-errno: the elementwise loops vectorize, selects included (22x
# for LeakyReLU) and square roots (Adam: a sqrt that may set errno stays a scalar call, 5x);
# none reorders or fuses arithmetic, and IEEE sqrt and division are exact in every width, so
# every result keeps its bits.
FLAGS = ("-O3", "-fno-trapping-math", "-fno-math-errno", "-std=c++17", "-ffp-contract=off")


def build(cxx, dnnl):
    """The built library for this source, MindSpore and oneDNN, compiled once into the cache
    (keyed by their hash); atomic, so two processes building at once both end with a whole file."""
    text = b"".join(path.name.encode() + path.read_bytes() for path in SOURCES + HEADERS)
    key = hashlib.sha256(text + f"{ms.__version__}|{dnnl}|{cxx}|{' '.join(FLAGS)}".encode()).hexdigest()[:16]
    target = cache_folder() / f"ms_gan_native_{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = [cxx, *FLAGS, "-shared", "-fPIC", *map(str, SOURCES), "-o", str(built), f"-L{dnnl.parent}", f"-l:{dnnl.name}",
                   f"-Wl,-rpath,{dnnl.parent}", "-pthread"]
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


def build_and_check():
    """(the library's path, None), or (None, why it is off) for the reasons that last a process."""
    dnnl = dnnl_library()
    if dnnl is None:
        return None, f"MindSpore {ms.__version__} ships no lib/libdnnl.so.2"
    cxx = compiler()
    if cxx is None:
        return None, f"no C++ compiler ({os.environ.get('CXX') or 'g++'} not found)"
    try:
        path = build(cxx, dnnl)
        reason = checked(path)
    except (OSError, RuntimeError) as error:
        return None, str(error).splitlines()[0]
    return (path, None) if reason is None else (None, reason)


def state():
    """(the library's path, None) when the native kernels are on, else (None, why not).
    The switch and the device are read every time, the build is tried once a process."""
    if os.environ.get(SWITCH, "1") == "0":
        return None, f"{SWITCH}=0"
    device = ms.get_context("device_target")
    if device != "CPU":
        return None, f"the device is {device}"
    if "built" not in _state:
        _state["built"] = build_and_check()
    return _state["built"]


def library():
    """The native library's path for a layer being made, or None (and one line on stderr,
    once per reason, saying why)."""
    if _state.get("suspended"):
        return None
    path, reason = state()
    if reason is not None and reason not in _state.setdefault("told", set()):
        _state["told"].add(reason)
        print(f"ms_gan: native CPU kernels off ({reason}); MindSpore's own run", file=sys.stderr)
    return path


@contextlib.contextmanager
def suspended():
    """Layers and optimizers made inside run MindSpore's own ops, silently: the benchmark's
    "no native" column beside the native one in the same process."""
    _state["suspended"] = True
    try:
        yield
    finally:
        _state["suspended"] = False
