"""Minimal safetensors writer on numpy alone (no torch, no safetensors package).

File layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian u64 N, then N bytes of JSON header,
then the raw tensor bytes. The header maps each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets relative to the start of the data area) and may hold ``"__metadata__"`` (string → string). The header is
padded with spaces so the data area starts 8-byte aligned.

bfloat16 has no numpy dtype: pass such tensors as ``uint16`` arrays holding the raw bf16 bits together with the
dtype tag ``"BF16"``. Any float tag accepts unsigned integers of its width as raw bits.

Two entry points:
  * ``write_file(path, tensors)`` for a dict of in-memory arrays;
  * ``StreamWriter`` for writing a file whose tensors are produced one at a time (bounded memory): declare every
    tensor (name, tag, shape) first, then ``write(name, array)`` each in declaration order.
"""

from __future__ import annotations

import json
import struct

import numpy as np

# safetensors dtype tag → numpy dtype used to hold the bytes (little-endian).
_NUMPY_FOR_TAG = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

_TAG_FOR_NUMPY = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}

DEFAULT_METADATA = {"format": "pt"}


def itemsize(tag: str) -> int:
    return _NUMPY_FOR_TAG[tag].itemsize


def tag_of(array: np.ndarray) -> str:
    """The safetensors dtype tag of a numpy array (uint16 is *not* guessed to be BF16)."""
    try:
        return _TAG_FOR_NUMPY[array.dtype.newbyteorder("=")]
    except KeyError as e:
        raise ValueError(f"no safetensors dtype for numpy dtype {array.dtype}") from e


def _header_bytes(entries, metadata) -> bytes:
    """entries: list of (name, tag, shape); returns the padded header (without the length prefix)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, tag, shape in entries:
        nbytes = itemsize(tag)
        for d in shape:
            nbytes *= int(d)
        header[name] = {"dtype": tag, "shape": [int(d) for d in shape], "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * ((-(8 + len(raw))) % 8)
    return raw


def data_size(entries) -> int:
    total = 0
    for _, tag, shape in entries:
        n = itemsize(tag)
        for d in shape:
            n *= int(d)
        total += n
    return total


def _holder(name, array, tag):
    """The array as contiguous little-endian data of ``tag``. Accepted: the same kind and width (any byte order),
    or unsigned integers of the same width holding the raw bits of a float type (always so for BF16)."""
    want = _NUMPY_FOR_TAG[tag]
    if array.dtype.itemsize != want.itemsize:
        raise ValueError(f"{name}: numpy dtype {array.dtype} does not hold {tag}")
    if array.dtype.kind == "u" and want.kind == "f":
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        return array.view(want)
    if array.dtype.kind != want.kind:
        raise ValueError(f"{name}: numpy dtype {array.dtype} does not hold {tag}")
    return np.ascontiguousarray(array, dtype=want)


class StreamWriter:
    """Writes one safetensors file tensor by tensor, in the declared order.

    >>> w = StreamWriter(path, [("a", "F32", (2, 3)), ("b", "BF16", (4,))])
    >>> w.write("a", np.zeros((2, 3), np.float32)); w.write("b", np.zeros(4, np.uint16)); w.close()
    """

    def __init__(self, path, entries, metadata=DEFAULT_METADATA):
        self._entries = [(n, t, tuple(int(d) for d in s)) for n, t, s in entries]
        names = [e[0] for e in self._entries]
        if len(set(names)) != len(names):
            raise ValueError("duplicate tensor names")
        self._next = 0
        self._file = open(path, "wb")
        header = _header_bytes(self._entries, metadata)
        self._file.write(struct.pack("<Q", len(header)))
        self._file.write(header)

    def write(self, name: str, array: np.ndarray) -> None:
        want_name, tag, shape = self._entries[self._next]
        if name != want_name:
            raise ValueError(f"expected tensor {want_name!r} next, got {name!r}")
        if tuple(array.shape) != shape:
            raise ValueError(f"{name}: shape {array.shape} != declared {shape}")
        self._file.write(memoryview(_holder(name, array, tag)).cast("B"))
        self._next += 1

    def write_chunks(self, name: str, chunks) -> None:
        """Writes the next declared tensor from an iterable of flat arrays (row-major order) that together hold
        exactly its elements; for tensors too big to build in memory at once."""
        want_name, tag, shape = self._entries[self._next]
        if name != want_name:
            raise ValueError(f"expected tensor {want_name!r} next, got {name!r}")
        total = 1
        for d in shape:
            total *= d
        n = 0
        for c in chunks:
            c = _holder(name, c.reshape(-1), tag)
            self._file.write(memoryview(c).cast("B"))
            n += c.size
        if n != total:
            raise ValueError(f"{name}: chunks held {n} elements, declared {total}")
        self._next += 1

    def close(self) -> None:
        if self._file is None:
            return
        f, self._file = self._file, None
        f.close()
        if self._next != len(self._entries):
            raise ValueError(f"only {self._next} of {len(self._entries)} declared tensors were written")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self._file is not None:
            self._file.close()
            self._file = None


def write_file(path, tensors: dict, metadata=DEFAULT_METADATA, tags: dict | None = None) -> None:
    """Writes ``{name: ndarray}`` to ``path`` (names sorted, as the safetensors package does).

    ``tags`` optionally overrides the dtype tag per name (needed for BF16 held as uint16).
    """
    tags = tags or {}
    names = sorted(tensors)
    entries = [(n, tags.get(n) or tag_of(tensors[n]), tensors[n].shape) for n in names]
    with StreamWriter(path, entries, metadata) as w:
        for n in names:
            w.write(n, tensors[n])


def read_header(path) -> dict:
    """Returns the parsed JSON header of a safetensors file (for checks)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))
