"""MNIST datasets: the bundled 4-vs-9 set and the full set through the checked downloader.

* :func:`load_mnist49` reads ``mnist49.npz`` shipped inside the package (no
  network): all 4s and 9s of a 10,000-image sample of the MNIST training set
  (1958 images) and of the official test set (1991 images). See
  ``PROVENANCE.md`` next to it.
* :func:`load_mnist` gives the same by default, and with ``full=True`` any
  digits from the official 60,000 + 10,000 images, downloaded once into the
  cache and checksum-verified (:mod:`chainrule.data.download`).

Images stay uint8 ``(N, 28, 28)``; :func:`as_features` turns them into
``(N, 784)`` floats in ``[0, 1]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from numpy.typing import DTypeLike

from .download import fetch_mnist_file

__all__ = ["BUNDLED_DIGITS", "MNISTData", "as_features", "load_mnist", "load_mnist49"]

#: Digits available without a download.
BUNDLED_DIGITS: tuple[int, int] = (4, 9)
_BUNDLED_FILE = "mnist49.npz"
_BUNDLED_KEYS = ("x_train", "digit_train", "x_test", "digit_test")


@dataclass(frozen=True)
class MNISTData:
    """A train/test split of MNIST restricted to some digits.

    Attributes:
        x_train, x_test: uint8 images, shape ``(N, 28, 28)``.
        y_train, y_test: int64 class labels ``0..k-1``: label ``i`` means
            digit ``digits[i]`` (for 4-vs-9: 0 is a 4, 1 is a 9).
        digit_train, digit_test: the original digit of each image (uint8).
        digits: the digits kept, in label order.
        source: ``"bundled"`` or ``"full"``.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    digit_train: np.ndarray = field(repr=False)
    digit_test: np.ndarray = field(repr=False)
    digits: tuple[int, ...] = BUNDLED_DIGITS
    source: str = "bundled"

    def __repr__(self) -> str:
        return (
            f"MNISTData(digits={self.digits}, source={self.source!r}, "
            f"train={len(self.x_train)}, test={len(self.x_test)})"
        )

    def __iter__(self):
        """Unpack as ``x_train, y_train, x_test, y_test = data``."""
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))


def as_features(images: np.ndarray, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Flatten uint8 images ``(N, 28, 28)`` to ``(N, 784)`` floats in ``[0, 1]`` (``x / 255``).

    ``dtype`` must be a floating type (float32 for speed, float64 for checks).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"as_features expects uint8 images (0..255), got {images.dtype}")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"as_features: dtype must be floating, got {dt}")
    if images.ndim < 2:
        raise ValueError(f"as_features expects (N, H, W) or (N, D) images, got {images.shape}")
    flat = images.reshape(len(images), -1).astype(dt)
    flat /= dt.type(255)
    return flat


def _check_digits(digits: Iterable[int]) -> tuple[int, ...]:
    out = tuple(int(d) for d in digits)
    if len(out) < 2:
        raise ValueError(f"need at least two digits to classify, got {out}")
    if len(set(out)) != len(out) or not all(0 <= d <= 9 for d in out):
        raise ValueError(f"digits must be distinct integers in 0..9, got {out}")
    return out


def _subset(images, digit_labels, digits, source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    digit_labels = np.asarray(digit_labels)
    if len(images) != len(digit_labels):
        raise ValueError(f"{source}: {len(images)} images but {len(digit_labels)} labels")
    keep = np.isin(digit_labels, digits)
    table = np.full(256, -1, dtype=np.int64)
    table[list(digits)] = np.arange(len(digits))
    kept = digit_labels[keep].astype(np.uint8)
    return images[keep], table[kept], kept


def _read_bundled() -> dict[str, np.ndarray]:
    ref = resources.files("chainrule.data").joinpath(_BUNDLED_FILE)
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        missing = [k for k in _BUNDLED_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{_BUNDLED_FILE}: missing arrays {missing} (found {npz.files})")
        return {k: npz[k] for k in _BUNDLED_KEYS}


def load_mnist49() -> MNISTData:
    """The bundled MNIST 4-vs-9 set (no network): labels 0 = digit 4, 1 = digit 9.

    1958 training images (980 fours, 978 nines) and 1991 test images (982
    fours, 1009 nines, exactly the official test set's 4s and 9s).
    """
    return load_mnist(BUNDLED_DIGITS)


def load_mnist(
    digits: Sequence[int] = BUNDLED_DIGITS,
    full: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> MNISTData:
    """MNIST restricted to ``digits``, labels remapped to ``0..k-1`` in the order given.

    Args:
        digits: the digits to keep; ``digits[i]`` gets label ``i``.
        full: if False (default), use the bundled set, which holds only digits
            4 and 9. If True, use the official 60,000 training and 10,000 test
            images, downloaded (once, md5-checked) into ``cache_dir``.
        cache_dir: download cache (default: see :func:`chainrule.data.download`).
        mirrors: base URLs to download from (default: the public MNIST mirrors).
        progress: show download progress bars.

    Raises:
        ValueError: bad ``digits``, or digits other than 4 and 9 without ``full=True``.
        DownloadError: ``full=True`` and the files could not be downloaded.
    """
    digits = _check_digits(digits)
    if not full:
        if not set(digits) <= set(BUNDLED_DIGITS):
            raise ValueError(
                f"the bundled MNIST data holds only digits 4 and 9, not {digits}: use "
                f"load_mnist(digits={digits}, full=True) (`chainrule train --full`) to "
                "download the full MNIST set"
            )
        arrays = _read_bundled()
        train = (arrays["x_train"], arrays["digit_train"])
        test = (arrays["x_test"], arrays["digit_test"])
    else:

        def fetch(name: str) -> np.ndarray:
            return fetch_mnist_file(name, cache_dir, mirrors, progress=progress)

        train = (fetch("train-images-idx3-ubyte.gz"), fetch("train-labels-idx1-ubyte.gz"))
        test = (fetch("t10k-images-idx3-ubyte.gz"), fetch("t10k-labels-idx1-ubyte.gz"))
    source = "full" if full else "bundled"
    x_tr, y_tr, d_tr = _subset(*train, digits, f"{source} training set")
    x_te, y_te, d_te = _subset(*test, digits, f"{source} test set")
    return MNISTData(x_tr, y_tr, x_te, y_te, d_tr, d_te, digits=digits, source=source)
