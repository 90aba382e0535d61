"""MindSpore `.ckpt` files read and written without mindspore or protobuf
(docs/cross_machine.md#checkpoint-files).

A `.ckpt` of mindspore.save_checkpoint is the protobuf message

    message Checkpoint { repeated Value value = 1; }
    message Value { string tag = 1; TensorProto tensor = 2; MapTensorProto maptensor = 3; }
    message TensorProto { repeated int64 dims = 1; string tensor_type = 2; bytes tensor_content = 3; }

written one Value at a time (the file is the concatenation of one-Value messages, which
protobuf reads as one). `tensor_type` is MindSpore's dtype name ("Float32"), the content
the array's native little-endian bytes; a string of append_dict is type "str", dims [0],
its content numpy's UCS-4 bytes. A tensor's bytes go in chunks of SLICE_KIB KiB, each a
Value of the same tag and the whole tensor's dims. Encrypted files, MapParameters and the CRC
trailer of crc_check=True are not read.
"""
import math

import numpy as np

TYPES = {"Float16": np.float16, "Float32": np.float32, "Float64": np.float64, "Int8": np.int8,
         "Int16": np.int16, "Int32": np.int32, "Int64": np.int64, "UInt8": np.uint8, "UInt16": np.uint16,
         "UInt32": np.uint32, "UInt64": np.uint64, "Bool": np.bool_}
TYPE_NAMES = {np.dtype(t): name for name, t in TYPES.items()}
STRING = "str"
SLICE_KIB = 512 * 1024        # mindspore.train.serialization.SLICE_SIZE


class FormatError(ValueError):
    """Bytes that are not a MindSpore checkpoint this module reads."""


# ---------------------------------------------------------------- protobuf wire format


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise FormatError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise FormatError("varint too long")


def _fields(data):
    """(field number, wire type, value) of a message: an int for varints, bytes for the rest."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise FormatError("truncated field")
            value, pos = bytes(data[pos:pos + length]), pos + length
        elif wire == 1:
            value, pos = bytes(data[pos:pos + 8]), pos + 8
        elif wire == 5:
            value, pos = bytes(data[pos:pos + 4]), pos + 4
        else:
            raise FormatError(f"unsupported wire type {wire}")
        if number == 0 or pos > len(data):
            raise FormatError("bad field")
        yield number, wire, value


def _encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


# ---------------------------------------------------------------- checkpoints


def _tensor(data):
    dims, type_name, content = [], None, b""
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0:
            dims.append(value)
        elif number == 1 and wire == 2:       # packed dims
            pos = 0
            while pos < len(value):
                dim, pos = _varint(value, pos)
                dims.append(dim)
        elif number == 2 and wire == 2:
            type_name = value.decode()
        elif number == 3 and wire == 2:
            content = value
    return dims, type_name, content


def parse(data):
    """{tag: numpy array or str} of a checkpoint's bytes, in file order, as
    mindspore.load_checkpoint gives them (arrays instead of Parameters)."""
    pieces = []     # (tag, dims, type, content), slices of one tensor consecutive
    for number, wire, value in _fields(data):
        if number != 1 or wire != 2:
            raise FormatError(f"unexpected field {number}")
        tag, tensor = None, None
        for inner, inner_wire, inner_value in _fields(value):
            if inner == 1 and inner_wire == 2:
                tag = inner_value.decode()
            elif inner == 2 and inner_wire == 2:
                tensor = inner_value
            elif inner == 3:
                raise FormatError(f"{tag}: a MapParameter, not read here")
        if tag is None or tensor is None:
            raise FormatError("a value without tag or tensor")
        dims, type_name, content = _tensor(tensor)
        if pieces and pieces[-1][0] == tag:
            pieces[-1][3].append(content)
        else:
            pieces.append((tag, dims, type_name, [content]))
    entries = {}
    for tag, dims, type_name, contents in pieces:
        content = b"".join(contents)
        if type_name == STRING:
            entries[tag] = str(np.frombuffer(content, f"<U{len(content) // 4}")[0]) if content else ""
            continue
        if type_name not in TYPES:
            raise FormatError(f"{tag}: unsupported tensor type {type_name!r}")
        shape = () if dims == [0] else tuple(dims)
        dtype = np.dtype(TYPES[type_name]).newbyteorder("<")
        if len(content) != math.prod(shape) * dtype.itemsize:
            raise FormatError(f"{tag}: {len(content)} bytes for shape {shape} of {type_name}")
        entries[tag] = np.frombuffer(content, dtype).astype(TYPES[type_name]).reshape(shape)
    return entries


def read(path):
    """{tag: numpy array or str} of a MindSpore checkpoint file (parse)."""
    with open(path, "rb") as file:
        return parse(file.read())


def _value(tag, dims, type_name, content):
    tensor = b"".join(_encode_varint(1 << 3) + _encode_varint(d) for d in dims)
    tensor += _field(2, type_name.encode()) + _field(3, content)
    return _field(1, _field(1, tag.encode()) + _field(2, tensor))


def serialize(entries):
    """The bytes mindspore.save_checkpoint writes for `entries` ({name: numpy array, or str
    as append_dict's}), in their order."""
    out = []
    for tag, value in entries.items():
        if isinstance(value, str):
            out.append(_value(tag, [0], STRING, np.array(value).astype(np.dtype("U").newbyteorder("<")).tobytes()))
            continue
        array = np.asarray(value)
        if array.dtype not in TYPE_NAMES:
            raise TypeError(f"{tag}: a {array.dtype} array has no MindSpore checkpoint type here")
        content = np.array(array, dtype=array.dtype.newbyteorder("<"), order="C").tobytes()
        chunk = SLICE_KIB * 1024
        for start in range(0, len(content), chunk):     # as MindSpore: an empty tensor writes nothing
            out.append(_value(tag, list(array.shape), TYPE_NAMES[array.dtype], content[start:start + chunk]))
    return b"".join(out)


def write(entries, path):
    """Write `entries` to `path` as mindspore.save_checkpoint would (serialize)."""
    with open(path, "wb") as file:
        file.write(serialize(entries))
    return sum(1 for v in entries.values() if not isinstance(v, str))
