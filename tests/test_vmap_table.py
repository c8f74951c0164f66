"""Every row of the primitive table (``cases.CASES``) under ``vmap``:

* the batching rules against a Python loop of the plain function and against the loop
  fallback (every rule switched off), on hypothesis shapes, with batch axes anywhere
  (negative too), some arguments not mapped (``None``), and ``out_axes`` anywhere;
* no primitive on the way falls back to the loop (its warning is an error here);
* the vjp and jvp rules run on batched values: ``vmap(vjp)`` and ``vmap(jvp)`` against
  loops of ``vjp`` and ``jvp``.

Each example of a mapped argument is a permutation of the drawn array's elements, so the
examples differ but stay in the strategy's domain; a draw whose loop fails is rejected.

The composites in :data:`PER_EXAMPLE` read their arguments' values (argsort, searchsorted, a
zero check) and run once per example under vmap; a derivative taken *inside* the vmap can't
see through that loop, so there ``vmap(vjp)`` and ``vmap(jvp)`` must either match the loop
or refuse with a clear ``vmap:`` error, never return a wrong number.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pytest
from cases import CASES, Case
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_ops_vjp import EXAMPLES

import chainrule as cr
from chainrule.primitive import Primitive

# a fifth of the table's examples (10 under the ci profile): each compares a rule with the
# loop fallback and a loop of the plain function, structural checks the table's own
# derivative tests back with 50
SETTINGS = settings(max_examples=max(EXAMPLES // 5, 2), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
ALL = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
RTOL, ATOL = 1e-10, 1e-12
PER_EXAMPLE = ("sort", "partition", "median", "interp", "linspace", "average", "linalg.lstsq")


def primitives() -> list[Primitive]:
    found: dict[int, Primitive] = {}
    for module in cr.ops.MODULES:
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found[id(value)] = value
    return list(found.values())


@contextmanager
def without_rules() -> Iterator[None]:
    """Every primitive's batching rule switched off: all of them take the loop fallback."""
    saved = [(p, p.batch) for p in primitives()]
    try:
        for p, _ in saved:
            p.batch = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for p, rule in saved:
            p.batch = rule


@contextmanager
def refused_or_run(case: Case) -> Iterator[list]:
    """Runs the body; for a PER_EXAMPLE composite a clear ``vmap:`` refusal is accepted (the
    yielded list then holds it and the caller skips its comparison)."""
    refused: list = []
    try:
        yield refused
    except (NotImplementedError, TypeError) as e:
        if not (case.name.startswith(PER_EXAMPLE) and str(e).startswith("vmap:")):
            raise
        refused.append(e)


@contextmanager
def no_fallback() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap: primitive")
        yield


class Batch:
    """A drawn batch: per argument, its examples (or None: not mapped) and its in_axis."""

    def __init__(self, arrays: Sequence[np.ndarray], data: st.DataObject) -> None:
        n = len(arrays)
        self.size = data.draw(st.integers(1, 3), label="batch size")
        self.mapped = data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any),
                                label="mapped")
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
        self.arrays = list(arrays)
        self.examples = [np.stack([rng.permutation(a.reshape(-1)).reshape(a.shape)
                                   for _ in range(self.size)]) if m else None
                         for a, m in zip(arrays, self.mapped)]
        self.axes = tuple(data.draw(st.integers(-a.ndim - 1, a.ndim), label=f"axis {i}")
                          if m else None for i, (a, m) in enumerate(zip(arrays, self.mapped)))
        self.rng = rng

    def example(self, k: int) -> list[np.ndarray]:
        return [a if e is None else e[k] for a, e in zip(self.arrays, self.examples)]

    def inputs(self) -> list[cr.Tensor]:
        return [cr.tensor(a if e is None else np.moveaxis(e, 0, ax))
                for a, e, ax in zip(self.arrays, self.examples, self.axes)]


def looped(fn: Callable, batch: Batch, *per_example: Sequence) -> list:
    """fn on each example (with the k-th entry of each of ``per_example`` first), or a
    rejected draw when the plain function refuses one (a singular matrix, say)."""
    try:
        return [fn(*[p[k] for p in per_example], *[cr.tensor(a) for a in batch.example(k)])
                for k in range(batch.size)]
    except (ValueError, NotImplementedError, FloatingPointError, IndexError):
        assume(False)
        raise


def data_of(x: object) -> np.ndarray:
    return x.data if isinstance(x, cr.Tensor) else np.asarray(x)


def assert_stacked(got: object, per_example: list, axis: int, what: str) -> None:
    want = np.stack([data_of(o) for o in per_example], axis=axis)
    got = data_of(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, the loop gives {want.shape}"
    np.testing.assert_allclose(got, want, RTOL, ATOL, err_msg=what)


@ALL
@SETTINGS
@given(data=st.data())
def test_rules_match_loop_and_fallback(case: Case, data: st.DataObject) -> None:
    batch = Batch(data.draw(case.inputs, label="inputs"), data)
    want = looped(case.fn, batch)
    out_nd = np.ndim(data_of(want[0]))
    out_axis = data.draw(st.integers(-out_nd - 1, out_nd), label="out_axes")
    mapped = cr.vmap(case.fn, in_axes=batch.axes, out_axes=out_axis)
    with no_fallback():
        got = mapped(*batch.inputs())
    assert_stacked(got, want, out_axis, f"{case.name}: batching rules vs a loop")
    with without_rules():
        fallback = mapped(*batch.inputs())
    assert_stacked(got, [data_of(fallback).take(k, axis=out_axis) for k in range(batch.size)],
                   out_axis, f"{case.name}: batching rules vs the loop fallback")


@ALL
@SETTINGS
@given(data=st.data())
def test_vmap_of_vjp_matches_loop(case: Case, data: st.DataObject) -> None:
    batch = Batch(data.draw(case.inputs, label="inputs"), data)
    outs = looped(case.fn, batch)
    cts = batch.rng.standard_normal((batch.size, *np.shape(data_of(outs[0]))))

    def cotangents(v: object, *xs: object) -> tuple:
        return cr.vjp(case.fn, *xs)[1](v)

    wants = looped(cotangents, batch, cts)
    with refused_or_run(case) as refused, no_fallback():
        got = cr.vmap(cotangents, in_axes=(0, *batch.axes))(cts, *batch.inputs())
    if refused:
        return
    for k, want in enumerate(wants):
        for i, w in enumerate(want):
            np.testing.assert_allclose(data_of(got[i])[k], data_of(w), RTOL, ATOL,
                                       err_msg=f"{case.name}: vmap(vjp), input {i}")


@ALL
@SETTINGS
@given(data=st.data())
def test_vmap_of_jvp_matches_loop(case: Case, data: st.DataObject) -> None:
    batch = Batch(data.draw(case.inputs, label="inputs"), data)
    looped(case.fn, batch)
    tangents = [batch.rng.standard_normal((batch.size, *np.shape(a))) for a in batch.arrays]

    def tangent(ts: list, *xs: object) -> object:
        return cr.jvp(case.fn, xs, tuple(ts))[1]

    wants = looped(tangent, batch, list(zip(*tangents)))
    with refused_or_run(case) as refused, no_fallback():
        got = cr.vmap(tangent, in_axes=(0, *batch.axes))(tangents, *batch.inputs())
    if refused:
        return
    for k, want in enumerate(wants):
        np.testing.assert_allclose(data_of(got)[k], data_of(want), RTOL, ATOL,
                                   err_msg=f"{case.name}: vmap(jvp)")


def test_every_primitive_has_a_batching_rule() -> None:
    missing = sorted(p.name for p in primitives() if p.batch is None)
    assert not missing, f"primitives without a batching rule: {missing}"
