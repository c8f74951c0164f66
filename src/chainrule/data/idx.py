"""Reader (and a small writer) for the IDX format used by the MNIST files.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (two zero bytes, a dtype
code ``TT`` and the number of dimensions ``NN``), then ``NN`` big-endian
uint32 dimension sizes, then ``prod(dims)`` big-endian items and nothing else.
The files are usually distributed gzipped; :func:`read_idx` recognises gzip by
its magic bytes (``1f 8b``), not by the file name.

Every problem is reported as an :class:`IDXError` whose message starts with
the file name and says what is wrong, e.g.::

    t10k-images-idx3-ubyte.gz: truncated: header says 10000x28x28 = 7840000 bytes of ubyte,
    found 1234
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDXError", "IDX_DTYPES", "read_idx", "write_idx"]

PathOrBytes = str | os.PathLike[str] | bytes | bytearray | memoryview

#: dtype code -> (name used in messages, big-endian NumPy dtype)
IDX_DTYPES: dict[int, tuple[str, np.dtype]] = {
    0x08: ("ubyte", np.dtype(">u1")),
    0x09: ("byte", np.dtype(">i1")),
    0x0B: ("short", np.dtype(">i2")),
    0x0C: ("int", np.dtype(">i4")),
    0x0D: ("float", np.dtype(">f4")),
    0x0E: ("double", np.dtype(">f8")),
}

_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a valid IDX file. ``str(err)`` is ``"<file>: <what is wrong>"``."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def _load(path_or_bytes: PathOrBytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes), name or "<bytes>"
    path = Path(os.fspath(path_or_bytes))
    return path.read_bytes(), name or str(path)


def _gunzip(raw: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError as exc:  # stream ends before its end-of-stream marker
        raise IDXError(source, f"corrupt gzip stream (truncated: {exc})") from exc
    except (OSError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise IDXError(source, f"corrupt gzip stream ({exc})") from exc


def read_idx(path_or_bytes: PathOrBytes, *, name: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian NumPy array.

    Args:
        path_or_bytes: a path, or the file's contents as bytes.
        name: how to call the file in error messages (default: the path, or
            ``"<bytes>"``).

    Returns:
        A writable array with the shape given by the header, in the dtype
        given by the dtype code (``uint8``, ``int8``, ``int16``, ``int32``,
        ``float32`` or ``float64``), native byte order.

    Raises:
        IDXError: bad gzip stream, bad magic number, unknown dtype code, no
            dimensions, header cut short, payload shorter (truncated) or
            longer (trailing garbage) than the header says.
    """
    raw, source = _load(path_or_bytes, name)
    data = _gunzip(raw, source) if raw[:2] == _GZIP_MAGIC else raw

    if len(data) < 4:
        raise IDXError(source, f"too short for an IDX header: {len(data)} bytes")
    (magic,) = struct.unpack(">I", data[:4])
    if data[0] != 0 or data[1] != 0:
        raise IDXError(source, f"bad magic 0x{magic:08x} (expected 0x0000TTNN)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x} {n}" for c, (n, _) in IDX_DTYPES.items())
        raise IDXError(source, f"unknown dtype code 0x{code:02x} (known: {known})")
    if ndim == 0:
        raise IDXError(source, f"magic 0x{magic:08x} says 0 dimensions (need at least 1)")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXError(
            source,
            f"truncated header: {ndim} dimensions need {header_len} bytes, found {len(data)}",
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    type_name, dtype = IDX_DTYPES[code]
    count = int(np.prod(dims, dtype=np.int64))
    expected = count * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        shape = "x".join(str(d) for d in dims)
        what = "truncated" if found < expected else "trailing garbage"
        raise IDXError(
            source,
            f"{what}: header says {shape} = {expected} bytes of {type_name}, found {found}",
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header_len)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file; gzipped if ``compress`` (default: name ends in ``.gz``).

    The array's dtype must be one of the six IDX types (uint8, int8, int16,
    int32, float32, float64) and it must have at least one dimension.
    Returns the path written, as a :class:`~pathlib.Path`.
    """
    arr = np.asarray(array)
    by_kind = {dt.newbyteorder("="): (code, dt) for code, (_, dt) in IDX_DTYPES.items()}
    key = arr.dtype.newbyteorder("=")
    if key not in by_kind:
        raise ValueError(f"write_idx: dtype {arr.dtype} has no IDX code")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx: need 1..255 dimensions, got {arr.ndim}")
    code, be_dtype = by_kind[key]
    header = struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)
    payload = header + np.ascontiguousarray(arr, dtype=be_dtype).tobytes()
    path = Path(os.fspath(path))
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path
