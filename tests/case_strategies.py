"""Hypothesis strategies for the primitive table (``cases.py``): value domains kept away from
kinks and ties, and shapes that exercise broadcasting and size-1 dimensions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

Arrays = st.SearchStrategy[tuple[np.ndarray, ...]]


# ----- value domains ------------------------------------------------------------------
def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


REAL = floats(-3, 3)
POSITIVE = floats(0.1, 5)
NONZERO = floats(-3, -0.1) | floats(0.1, 3)
# For maximum/minimum: x lies in [k, k + 0.3], y in [k + 0.5, k + 0.8], so |x - y| >= 0.2.
LOW = st.builds(lambda k, f: k + f, st.integers(-3, 2), floats(0, 0.3))
HIGH = st.builds(lambda k, f: k + 0.5 + f, st.integers(-3, 2), floats(0, 0.3))


def distinct(a: np.ndarray) -> np.ndarray:
    """The same order as ``a`` but at least 0.2 apart: no ties for max/min."""
    ranks = np.argsort(np.argsort(a.ravel(), kind="stable"), kind="stable")
    jitter = 0.1 * (a.ravel() - np.floor(a.ravel()))
    return ((ranks - ranks.size / 2) * 0.3 + jitter).reshape(a.shape)


def distinct_magnitudes(a: np.ndarray) -> np.ndarray:
    """Signs of ``a``, magnitudes at least 0.2 from zero and from each other."""
    d = distinct(np.abs(a))
    return np.where(a < 0, -1.0, 1.0) * (d - d.min() + 0.2)


# ----- shapes and arrays ---------------------------------------------------------------
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def array(shape: tuple[int, ...], elements: st.SearchStrategy[float] = REAL
          ) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=elements)


def arrays(shape_tuples: st.SearchStrategy[Sequence[tuple[int, ...]]],
           *elements: st.SearchStrategy[float]) -> Arrays:
    """One array per shape in each drawn tuple of shapes (elements default to REAL)."""
    def build(ss: Sequence[tuple[int, ...]]) -> Arrays:
        es = elements or (REAL,) * len(ss)
        return st.tuples(*[array(tuple(s), e) for s, e in zip(ss, es, strict=True)])
    return shape_tuples.flatmap(build)


def unary(elements: st.SearchStrategy[float] = REAL, **shape_kw: int) -> Arrays:
    return arrays(shapes(**shape_kw).map(lambda s: (s,)), elements)


def broadcastable(n: int = 2, **kw: int) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``n`` shapes that broadcast together (size-1 and missing dims included)."""
    kw = {"min_dims": 0, "max_dims": 3, "min_side": 1, "max_side": 4, **kw}
    return hnp.mutually_broadcastable_shapes(num_shapes=n, **kw).map(lambda b: b.input_shapes)


def mask(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed boolean pattern of ``shape`` (first element True)."""
    return np.asarray(np.arange(math.prod(shape)).reshape(shape) % 3 != 1)


def joined(n: int, axis: int) -> Arrays:
    """``n`` arrays that agree in every dimension except ``axis``."""
    def build(d: tuple[tuple[int, ...], list[int]]) -> Arrays:
        base, sizes = d
        ax = axis % len(base)
        return st.tuples(*[array(base[:ax] + (k,) + base[ax + 1:]) for k in sizes])
    return st.tuples(shapes(min_dims=1), st.lists(st.integers(1, 3), min_size=n, max_size=n)
                     ).flatmap(build)


def same(n: int, **kw: int) -> Arrays:
    return shapes(**kw).flatmap(lambda s: st.tuples(*[array(s)] * n))


def einsum_inputs(spec: str) -> Arrays:
    """Arrays whose shapes agree with the letters of ``spec`` ('...' drawn as 0-2 dims)."""
    parts = spec.split("->")[0].split(",")
    letters = sorted(set("".join(parts).replace(".", "")))
    def build(d: tuple[dict[str, int], tuple[int, ...]]) -> Arrays:
        sizes, ell = d
        return st.tuples(*[array(tuple(ell) * ("..." in p)
                                 + tuple(sizes[c] for c in p.replace("...", ""))) for p in parts])
    ellipsis = shapes(max_dims=2, max_side=3) if "..." in spec else st.just(())
    return st.tuples(st.fixed_dictionaries({c: st.integers(1, 4) for c in letters}), ellipsis
                     ).flatmap(build)
