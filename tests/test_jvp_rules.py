"""Every primitive's forward-mode (jvp) rule, checked on hypothesis-drawn inputs
(``cases.CASES``, shared with the reverse-mode tests):

* against central differences along the tangent, ``(f(x + h t) - f(x - h t)) / 2h``, float64;
* against ``torch.func.jvp`` in float64, value and tangent;
* float32 primals and tangents give float32 values and tangents;
* forward-over-reverse (the jvp of the vjp, what ``hessian`` and ``hvp`` use) against
  ``torch.func.jvp`` of ``torch.func.vjp``, and reverse-over-forward (the vjp of the jvp, so
  every jvp rule is itself differentiable) against ``torch.func.vjp`` of ``torch.func.jvp``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from cases import Case
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_vjp import (
    ALL,
    SECOND_ORDER,
    SEEDS,
    SETTINGS,
    TORCH_ATOL,
    TORCH_RTOL,
    assert_close,
    random_like,
)

import chainrule as cr
from chainrule.functional import jvp, vjp


def tangents_for(arrays: Sequence[np.ndarray], seed: int, dtype: object = np.float64) -> list:
    return [random_like(a.shape, seed + k, dtype) for k, a in enumerate(arrays)]


def numerical_jvp(fn: Callable[..., cr.Tensor], arrays: Sequence[np.ndarray],
                  tangents: Sequence[np.ndarray], h: float = 1e-6) -> np.ndarray:
    def at(s: float) -> np.ndarray:
        return fn(*[cr.tensor(a + s * t) for a, t in zip(arrays, tangents)]).data

    return (at(h) - at(-h)) / (2 * h)


@ALL
@SETTINGS
@given(data=st.data())
def test_jvp_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    tangents = tangents_for(arrays, data.draw(SEEDS, label="seed"))
    out, tangent = jvp(case.fn, tuple(arrays), tuple(tangents))
    plain = case.fn(*[cr.tensor(a) for a in arrays]).data
    np.testing.assert_array_equal(out, plain, err_msg=f"{case.name}: jvp changed the value")
    assert_close(tangent, numerical_jvp(case.fn, arrays, tangents), 1e-5, 1e-6,
                 f"{case.name}: jvp vs finite differences")


@ALL
@SETTINGS
@given(data=st.data())
def test_jvp_matches_torch_func(case: Case, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    arrays = data.draw(case.inputs, label="inputs")
    tangents = tangents_for(arrays, data.draw(SEEDS, label="seed"))
    out, tangent = jvp(case.fn, tuple(arrays), tuple(tangents))
    t_out, t_tangent = torch.func.jvp(case.torch_fn, tuple(torch.from_numpy(a) for a in arrays),
                                      tuple(torch.from_numpy(t) for t in tangents))
    assert_close(out, t_out.numpy(), TORCH_RTOL, TORCH_ATOL, f"{case.name}: value")
    assert_close(tangent, t_tangent.numpy(), TORCH_RTOL, TORCH_ATOL, f"{case.name}: tangent")


@ALL
@settings(SETTINGS, max_examples=3)
@given(data=st.data())
def test_jvp_float32_stays_float32(case: Case, data: st.DataObject) -> None:
    arrays = [a.astype(np.float32) for a in data.draw(case.inputs, label="inputs")]
    tangents = tangents_for(arrays, data.draw(SEEDS, label="seed"), np.float32)
    # Tensors in, Tensors out (arrays in would give a Python float for a 0-d result)
    out, tangent = jvp(case.fn, tuple(cr.tensor(a) for a in arrays), tuple(tangents))
    assert out.dtype == np.float32, f"{case.name}: value is {out.dtype}"
    assert tangent.dtype == np.float32, f"{case.name}: tangent is {tangent.dtype}"
    _, exact = jvp(case.fn, tuple(a.astype(np.float64) for a in arrays),
                   tuple(t.astype(np.float64) for t in tangents))
    assert_close(tangent.data, np.asarray(exact), 2e-3, 2e-3,
                 f"{case.name}: float32 vs float64 tangent")


@SECOND_ORDER
@settings(SETTINGS, max_examples=4)
@given(data=st.data())
def test_forward_over_reverse_matches_torch_func(case: Case, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    arrays = data.draw(case.inputs, label="inputs")
    seed = data.draw(SEEDS, label="seed")
    tangents = tangents_for(arrays, seed)
    v = random_like(np.shape(case.fn(*[cr.tensor(a) for a in arrays])), seed + len(arrays))
    _, ours = jvp(lambda *xs: vjp(case.fn, *xs)[1](v), tuple(arrays), tuple(tangents))
    _, theirs = torch.func.jvp(
        lambda *xs: torch.func.vjp(case.torch_fn, *xs)[1](torch.from_numpy(v)),
        tuple(torch.from_numpy(a) for a in arrays), tuple(torch.from_numpy(t) for t in tangents))
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        # force=True: torch hands back a ZeroTensor where the derivative is identically 0
        assert_close(a, b.numpy(force=True), 1e-6, 1e-9, f"{case.name}: d/dt vjp, input {k}")


@SECOND_ORDER
@settings(SETTINGS, max_examples=4)
@given(data=st.data())
def test_reverse_over_forward_matches_torch_func(case: Case, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    arrays = data.draw(case.inputs, label="inputs")
    seed = data.draw(SEEDS, label="seed")
    tangents = tangents_for(arrays, seed)
    v = random_like(np.shape(case.fn(*[cr.tensor(a) for a in arrays])), seed + len(arrays))
    _, vjp_fn = vjp(lambda *xs: jvp(case.fn, xs, tuple(tangents))[1], *arrays)
    ours = vjp_fn(v)
    t_tangents = tuple(torch.from_numpy(t) for t in tangents)
    _, t_vjp_fn = torch.func.vjp(lambda *xs: torch.func.jvp(case.torch_fn, xs, t_tangents)[1],
                                 *[torch.from_numpy(a) for a in arrays])
    for k, (a, b) in enumerate(zip(ours, t_vjp_fn(torch.from_numpy(v)), strict=True)):
        assert_close(a, b.numpy(force=True), 1e-6, 1e-9, f"{case.name}: d/dx jvp, input {k}")
