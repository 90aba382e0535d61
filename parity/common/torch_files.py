"""PyTorch `.pt` files read and written without torch (docs/cross_machine.md#checkpoint-files).

A file of torch.save (PyTorch >= 1.6) is a zip archive `<name>/data.pkl`, `<name>/data/<key>`,
...: data.pkl is a pickle (protocol 2) of the saved object whose tensors are calls of
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`, each storage a
persistent id ("storage", torch.<Type>Storage, key, location, numel) naming the record
`data/<key>` that holds its bytes, little-endian.

`read` unpickles with an allowlist, as torch.load(weights_only=True) does: dicts, lists,
tuples, numbers, strings, OrderedDict, tensors (as numpy arrays) and nothing else; any other
global (a class or function the pickle would call) is refused before anything runs.
`write` saves nested dicts/lists/tuples of numpy arrays, numbers and strings so that
torch.load(weights_only=True) gives the same structure with tensors of the same values,
dtypes and shapes.
"""
import collections
import hashlib
import io
import pickle
import zipfile
from pathlib import PurePosixPath

import numpy as np

# torch.<name>Storage <-> numpy dtype (bfloat16 has no numpy dtype: refused)
STORAGES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
            "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
            "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
STORAGE_OF = {np.dtype(t): name for name, t in STORAGES.items()}
ALIGNMENT = 64          # torch.save aligns each record's data to 64 bytes (for mmap loads)
REBUILD_TENSOR = ("torch._utils", "_rebuild_tensor_v2")
REBUILD_PARAMETER = ("torch._utils", "_rebuild_parameter")


class UnsafePickle(pickle.UnpicklingError):
    """A pickle naming a global outside the allowlist; nothing of it ran."""


class Storage:
    """A storage's persistent id read: its dtype and record key."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = np.dtype(dtype), key, numel


def _rebuild_tensor(storage, offset, size, stride, *_):
    data = storage.data
    itemsize = data.dtype.itemsize
    if not size:
        return data[offset:offset + 1].reshape(()).copy()
    view = np.lib.stride_tricks.as_strided(data[offset:], tuple(size), tuple(s * itemsize for s in stride))
    return np.array(view, copy=True)


def _rebuild_parameter(data, requires_grad, backward_hooks, *_):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, records):
        super().__init__(file)
        self.records = records

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == REBUILD_TENSOR:
            return _rebuild_tensor
        if (module, name) == REBUILD_PARAMETER:
            return _rebuild_parameter
        if module == "torch" and name in STORAGES:
            return STORAGES[name]
        raise UnsafePickle(f"unsupported global: {module}.{name} (only tensors, containers, numbers and "
                           f"strings are read, as torch.load(weights_only=True) does)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, dtype, key, _location, numel = pid
        if not isinstance(dtype, type) or np.dtype(dtype) not in STORAGE_OF:
            raise UnsafePickle(f"unsupported storage type {dtype!r}")
        storage = Storage(dtype, key, numel)
        raw = self.records(f"data/{key}")
        storage.data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=numel).astype(dtype)
        return storage


def read(path):
    """The object torch.save wrote to `path`, its tensors numpy arrays. Raises UnsafePickle
    for a pickle that would call anything else, pickle.UnpicklingError or zipfile.BadZipFile
    for a file that is no readable torch.save archive."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if PurePosixPath(n).name == "data.pkl" and len(PurePosixPath(n).parts) == 2]
        if len(pickles) != 1:
            raise pickle.UnpicklingError(f"no <archive>/data.pkl record in {path}")
        prefix = PurePosixPath(pickles[0]).parent
        byteorder = f"{prefix}/byteorder"
        if byteorder in names and archive.read(byteorder).strip() != b"little":
            raise pickle.UnpicklingError(f"{path}: big-endian tensors are not supported")
        records = lambda name: archive.read(f"{prefix}/{name}")
        return _Unpickler(io.BytesIO(archive.read(pickles[0])), records).load()


# ---------------------------------------------------------------- writing


class _Global:
    """A `module name` global written into the pickle, never imported here."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):    # pickle's save_reduce wants a callable; this one is never called
        raise TypeError(f"{self.module}.{self.name} is written into a pickle, not called")


class _Tensor:
    def __init__(self, array, key):
        self.array, self.key = array, key


class _Pickler(pickle._Pickler):
    """The pure-Python pickler (protocol 2, as torch.save) with torch's globals, tensors
    and storages written as torch writes them."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_global_stub(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_tensor(self, obj):
        array = obj.array
        storage = ("storage", _Global("torch", STORAGE_OF[array.dtype]), str(obj.key), "cpu", int(array.size))
        stride = tuple(s // array.itemsize for s in array.strides)
        args = (storage, 0, tuple(int(n) for n in array.shape), stride, False, collections.OrderedDict())
        self.save_reduce(_Global(*REBUILD_TENSOR), args, obj=obj)

    def persistent_id(self, obj):
        if isinstance(obj, tuple) and len(obj) == 5 and obj[0] == "storage" and isinstance(obj[1], _Global):
            return obj
        return None

    dispatch[_Global] = save_global_stub
    dispatch[_Tensor] = save_tensor


def _with_tensors(obj, arrays):
    """`obj` with every numpy array (numpy scalars as 0-d ones) replaced by a _Tensor,
    its little-endian C-ordered copy appended to `arrays`."""
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.array(obj, dtype=np.asarray(obj).dtype.newbyteorder("<"), order="C")   # 0-d stays 0-d
        if array.dtype.newbyteorder("=") not in STORAGE_OF:
            raise TypeError(f"a {array.dtype} array has no torch storage type here")
        arrays.append(array)
        return _Tensor(array, len(arrays) - 1)
    if isinstance(obj, collections.OrderedDict):
        return collections.OrderedDict((k, _with_tensors(v, arrays)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _with_tensors(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_with_tensors(v, arrays) for v in obj)
    return obj


def _aligned(archive, name, data):
    """Write `data` as a stored record whose data starts on an ALIGNMENT boundary, padded
    with an extra field as torch.save pads its own."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = archive.fp.tell() + 30 + len(name.encode())
    padding = (-(start + 4)) % ALIGNMENT
    info.extra = b"FB" + padding.to_bytes(2, "little") + b"Z" * padding
    archive.writestr(info, data)


def write(obj, path):
    """Save `obj` (nested dicts, lists, tuples of numpy arrays, numbers, strings, None) to
    `path` as torch.save would: torch.load(path, weights_only=True) returns it with torch
    tensors for the arrays."""
    arrays = []
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(_with_tensors(obj, arrays))
    name = PurePosixPath(path).stem or "archive"
    digest = hashlib.sha1(buffer.getvalue())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        _aligned(archive, f"{name}/data.pkl", buffer.getvalue())
        _aligned(archive, f"{name}/.format_version", b"1")
        _aligned(archive, f"{name}/.storage_alignment", str(ALIGNMENT).encode())
        _aligned(archive, f"{name}/byteorder", b"little")
        for key, array in enumerate(arrays):
            data = array.tobytes()
            digest.update(data)
            _aligned(archive, f"{name}/data/{key}", data)
        _aligned(archive, f"{name}/version", b"3\n")
        _aligned(archive, f"{name}/.data/serialization_id", str(int(digest.hexdigest(), 16))[:40].zfill(40).encode())
    return len(arrays)
