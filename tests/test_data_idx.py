"""IDX reader: real MNIST files, corrupted copies, and hand-written files of every dtype."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import IDXError, read_idx, write_idx

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
T10K_IMAGES = "t10k-images-idx3-ubyte.gz"
T10K_LABELS = "t10k-labels-idx1-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
MD5 = {
    T10K_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    T10K_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
}
# Per-class counts from ../shared/data/mnist/README.md
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared/data/mnist not found: {SHARED} (real MNIST files needed)")
    return SHARED


def _raw(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


# ----------------------------------------------------------------------------- real files


@pytest.mark.parametrize("name", sorted(MD5))
def test_real_files_have_official_md5(shared: Path, name: str) -> None:
    assert hashlib.md5((shared / name).read_bytes()).hexdigest() == MD5[name]


def test_read_real_test_images_and_labels(shared: Path) -> None:
    images = read_idx(shared / T10K_IMAGES)
    labels = read_idx(str(shared / T10K_LABELS))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert images.min() == 0 and images.max() == 255
    assert images.flags.writeable and images.flags.c_contiguous


def test_read_real_train_labels(shared: Path) -> None:
    labels = read_idx(shared / TRAIN_LABELS)
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert labels.max() == 9 and np.bincount(labels).sum() == 60000


def test_gzip_detected_by_magic_not_suffix(shared: Path, tmp_path: Path) -> None:
    plain = tmp_path / "labels.gz"  # .gz name, but not gzipped
    plain.write_bytes(_raw(shared / T10K_LABELS))
    zipped = tmp_path / "labels.idx"  # gzipped, no .gz name
    zipped.write_bytes((shared / T10K_LABELS).read_bytes())
    expected = read_idx(shared / T10K_LABELS)
    np.testing.assert_array_equal(read_idx(plain), expected)
    np.testing.assert_array_equal(read_idx(zipped), expected)
    np.testing.assert_array_equal(read_idx(plain.read_bytes()), expected)


# ----------------------------------------------------------------------------- errors


def test_truncated_payload_names_file_and_sizes(shared: Path, tmp_path: Path) -> None:
    raw = _raw(shared / T10K_IMAGES)
    bad = tmp_path / T10K_IMAGES
    bad.write_bytes(gzip.compress(raw[: 16 + 1234]))
    with pytest.raises(IDXError) as info:
        read_idx(bad)
    msg = str(info.value)
    assert msg.startswith(str(bad))
    assert "truncated: header says 10000x28x28 = 7840000 bytes of ubyte, found 1234" in msg


def test_truncated_gzip_stream(shared: Path, tmp_path: Path) -> None:
    data = (shared / T10K_LABELS).read_bytes()
    bad = tmp_path / T10K_LABELS
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXError, match=r"corrupt gzip stream \(truncated") as info:
        read_idx(bad)
    assert T10K_LABELS in str(info.value)


def test_flipped_gzip_bytes(shared: Path, tmp_path: Path) -> None:
    data = bytearray((shared / T10K_LABELS).read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 16):
        data[i] ^= 0xFF
    bad = tmp_path / "flipped.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(IDXError, match="corrupt gzip stream") as info:
        read_idx(bad)
    assert "flipped.gz" in str(info.value)


def test_trailing_garbage(shared: Path, tmp_path: Path) -> None:
    bad = tmp_path / "garbage-labels-idx1-ubyte"
    bad.write_bytes(_raw(shared / T10K_LABELS) + b"\x00" * 7)
    with pytest.raises(IDXError) as info:
        read_idx(bad)
    assert str(info.value) == (
        f"{bad}: trailing garbage: header says 10000 = 10000 bytes of ubyte, found 10007"
    )


def test_bad_magic(tmp_path: Path) -> None:
    bad = tmp_path / "magic.idx"
    bad.write_bytes(struct.pack(">I", 0x12345678) + b"\x00" * 8)
    with pytest.raises(IDXError) as info:
        read_idx(bad)
    assert str(info.value) == f"{bad}: bad magic 0x12345678 (expected 0x0000TTNN)"


def test_unknown_dtype_code(tmp_path: Path) -> None:
    bad = tmp_path / "dtype.idx"
    bad.write_bytes(bytes([0, 0, 0x42, 1]) + struct.pack(">I", 2) + b"\x01\x02")
    with pytest.raises(IDXError, match=r"dtype\.idx: unknown dtype code 0x42"):
        read_idx(bad)


def test_zero_dims_and_short_header() -> None:
    with pytest.raises(IDXError, match="<bytes>: magic 0x00000800 says 0 dimensions"):
        read_idx(bytes([0, 0, 8, 0]))
    with pytest.raises(IDXError, match="mine: too short for an IDX header: 3 bytes"):
        read_idx(b"\x00\x00\x08", name="mine")
    with pytest.raises(IDXError, match="truncated header: 3 dimensions need 16 bytes, found 8"):
        read_idx(bytes([0, 0, 8, 3]) + struct.pack(">I", 5))


def test_idxerror_is_valueerror() -> None:
    assert issubclass(IDXError, ValueError)
    err = IDXError("f.idx", "oops")
    assert (err.source, err.problem, str(err)) == ("f.idx", "oops", "f.idx: oops")


# ----------------------------------------------------------------------------- round trips

DTYPES = [
    (0x08, ">u1", np.uint8),
    (0x09, ">i1", np.int8),
    (0x0B, ">i2", np.int16),
    (0x0C, ">i4", np.int32),
    (0x0D, ">f4", np.float32),
    (0x0E, ">f8", np.float64),
]


@pytest.mark.parametrize("code,be,native", DTYPES, ids=[d[2].__name__ for d in DTYPES])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_hand_written_idx_round_trip(
    tmp_path: Path, code: int, be: str, native: type, gz: bool
) -> None:
    values = np.array([[0, 1, 2], [3, -4, 127]], dtype=np.int64)
    if np.dtype(native).kind == "u":
        values = np.abs(values)
    arr = values.astype(native)
    if np.dtype(native).kind == "f":
        arr = arr * native(1.5)
    # Built by hand, independently of write_idx: magic, dims, big-endian payload.
    blob = bytes([0, 0, code, 2]) + struct.pack(">II", 2, 3) + arr.astype(be).tobytes()
    path = tmp_path / ("tiny.idx.gz" if gz else "tiny.idx")
    path.write_bytes(gzip.compress(blob) if gz else blob)
    out = read_idx(path)
    assert out.dtype == np.dtype(native) and out.dtype.isnative
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, arr)
    # write_idx produces the same bytes and reads back identically.
    written = write_idx(tmp_path / "w.idx", arr)
    assert written.read_bytes() == blob
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "w.idx.gz", arr)), arr)


def test_write_idx_rejects_unsupported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no IDX code"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="need 1..255 dimensions"):
        write_idx(tmp_path / "b.idx", np.float64(1.0))
    assert list(tmp_path.iterdir()) == []
