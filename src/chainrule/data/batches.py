"""Mini-batches over paired arrays.

>>> it = batches(x, y, batch_size=64, seed=0)   # doctest: +SKIP
>>> len(it)                                     # number of batches per epoch
>>> for epoch in range(3):
...     for xb, yb in it:                       # a fresh shuffle every epoch
...         ...

With a ``seed`` (or an ``rng``) the whole sequence of epochs is reproducible:
the iterator owns one :class:`numpy.random.Generator` and draws a new
permutation from it each time it is iterated.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["BatchIterator", "batches"]


class BatchIterator:
    """Re-iterable source of ``(xb, yb)`` mini-batches; ``len()`` is the number per epoch.

    Args:
        x, y: arrays (or array-likes) with the same first dimension.
        batch_size: samples per batch (> 0). The last batch is smaller when
            ``len(x)`` is not a multiple, unless ``drop_last``.
        shuffle: visit the samples in a new random order each epoch; if
            False, batches are contiguous slices (views) in the original order.
        seed: seed for a new :func:`numpy.random.default_rng` (ignored if
            ``rng`` is given; giving both is an error).
        rng: a :class:`numpy.random.Generator` to draw permutations from.
        drop_last: skip the final incomplete batch.
    """

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        *,
        rng: np.random.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        if seed is not None and rng is not None:
            raise ValueError("give either seed or rng, not both")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.x: np.ndarray = np.asarray(x)
        self.y: np.ndarray = np.asarray(y)
        if self.x.ndim == 0 or self.y.ndim == 0:
            raise ValueError("x and y must have a first (sample) dimension, got a scalar")
        if len(self.x) != len(self.y):
            raise ValueError(
                f"x and y must have the same number of samples: len(x) = {len(self.x)}, "
                f"len(y) = {len(self.y)}"
            )
        self.batch_size: int = int(batch_size)
        self.shuffle: bool = bool(shuffle)
        self.drop_last: bool = bool(drop_last)
        self.rng: np.random.Generator = rng if rng is not None else np.random.default_rng(seed)

    @property
    def num_samples(self) -> int:
        """Number of samples in the data."""
        return len(self.x)

    def __len__(self) -> int:
        """Number of batches one pass yields."""
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, b = len(self.x), self.batch_size
        stop = len(self) * b
        if not self.shuffle:
            for start in range(0, stop, b):
                yield self.x[start : start + b], self.y[start : start + b]
            return
        order = self.rng.permutation(n)
        for start in range(0, stop, b):
            idx = order[start : start + b]
            yield self.x[idx], self.y[idx]

    def __repr__(self) -> str:
        return (
            f"BatchIterator(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"batches={len(self)}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def batches(
    x: ArrayLike,
    y: ArrayLike,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> BatchIterator:
    """Mini-batches ``(xb, yb)`` of ``x`` and ``y``; see :class:`BatchIterator`.

    Returns a :class:`BatchIterator`: it has ``len()`` (batches per epoch, so
    tqdm shows a total) and reshuffles each time it is iterated.
    """
    return BatchIterator(x, y, batch_size, shuffle, seed, rng=rng, drop_last=drop_last)
