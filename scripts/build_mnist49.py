#!/usr/bin/env python
"""Build src/chainrule/data/mnist49.npz, the bundled MNIST 4-vs-9 set.

Sources (real MNIST, see ../shared/data/mnist/README.md):

* training: every 4 and 9 of ``train-sample-10k.npz`` (10,000 images drawn from
  the official MNIST training set): 980 fours + 978 nines. That file is sorted
  by digit, so they are put in a fixed mixed order: sorted by the md5 of each
  image's 784 pixel bytes (deterministic, no random generator involved);
* test: every 4 and 9 of the official ``t10k-images-idx3-ubyte.gz`` /
  ``t10k-labels-idx1-ubyte.gz``, in file order: 982 fours + 1009 nines.

The md5 of every source file is checked first. Output arrays: ``x_train``
(1958, 28, 28) uint8, ``digit_train`` (1958,) uint8, ``x_test`` (1991, 28, 28)
uint8, ``digit_test`` (1991,) uint8, written like ``np.savez_compressed`` but
with fixed zip timestamps so that the same inputs give the same bytes (plain
``savez_compressed`` stamps the current time into the archive).

Usage::

    python scripts/build_mnist49.py [--source DIR] [--out FILE]

It prints the md5 of each array's bytes and of the output file; record them
in src/chainrule/data/PROVENANCE.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chainrule.data.download import MNIST_FILES, md5_of  # noqa: E402
from chainrule.data.idx import read_idx  # noqa: E402

SOURCE_MD5 = {
    "train-sample-10k.npz": "174303664a26222d7525c27486889303",
    "t10k-images-idx3-ubyte.gz": MNIST_FILES["t10k-images-idx3-ubyte.gz"],
    "t10k-labels-idx1-ubyte.gz": MNIST_FILES["t10k-labels-idx1-ubyte.gz"],
}
DIGITS = (4, 9)
EXPECTED_COUNTS = {"train": (980, 978), "test": (982, 1009)}


def save_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` (same layout, loadable by ``np.load``), fixed timestamps."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def select(images: np.ndarray, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images of ``DIGITS``, in file order, as contiguous uint8 arrays."""
    keep = np.isin(digits, DIGITS)
    return np.ascontiguousarray(images[keep], np.uint8), np.ascontiguousarray(
        digits[keep], np.uint8
    )


def hash_order(images: np.ndarray) -> np.ndarray:
    """A fixed, RNG-free shuffle: indices sorting the images by the md5 of their pixel bytes."""
    keys = np.array([hashlib.md5(img.tobytes()).hexdigest() for img in images])
    return np.argsort(keys, kind="stable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=ROOT / "src/chainrule/data/mnist49.npz")
    args = parser.parse_args(argv)

    for name, want in SOURCE_MD5.items():
        got = md5_of(args.source / name)
        if got != want:
            sys.exit(f"{args.source / name}: md5 {got}, expected {want}")
        print(f"source {name}: md5 {got} ok")

    with np.load(args.source / "train-sample-10k.npz", allow_pickle=False) as sample:
        x_train, digit_train = select(sample["images"], sample["labels"])
    # The sample is sorted by digit (all 4s, then all 9s); mix the classes so that
    # a prefix or an unshuffled pass is not one class only.
    order = hash_order(x_train)
    x_train, digit_train = x_train[order], digit_train[order]
    x_test, digit_test = select(
        read_idx(args.source / "t10k-images-idx3-ubyte.gz"),
        read_idx(args.source / "t10k-labels-idx1-ubyte.gz"),
    )
    for split, digits in (("train", digit_train), ("test", digit_test)):
        counts = tuple(int((digits == d).sum()) for d in DIGITS)
        if counts != EXPECTED_COUNTS[split]:
            sys.exit(f"{split}: counts of {DIGITS} are {counts}, expected {EXPECTED_COUNTS[split]}")
        print(f"{split}: {len(digits)} images ({counts[0]} fours, {counts[1]} nines)")

    arrays = {
        "x_train": x_train,
        "digit_train": digit_train,
        "x_test": x_test,
        "digit_test": digit_test,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_npz_deterministic(args.out, arrays)
    for key, arr in arrays.items():
        digest = hashlib.md5(arr.tobytes()).hexdigest()
        print(f"array {key}: {arr.dtype} {arr.shape} md5(bytes) {digest}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) md5 {md5_of(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
